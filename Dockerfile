# syntax=docker/dockerfile:1
# The daemon and the CLI in one image. The builder stage turns the project and its dependencies into wheels; the
# runtime stage installs only those (no compiler, no pip cache, no source tree). Settings, API keys included, come
# from the environment at run time (docker-compose.yml: env_file): nothing secret is baked in.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY arbitrage ./arbitrage
RUN pip wheel --wheel-dir /wheels .

FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ARBITRAGE_LOG_FORMAT=json \
    ARBITRAGE_DATABASE_URL=sqlite:////data/arbitrage.db \
    ARBITRAGE_HTTP_HOST=0.0.0.0 \
    ARBITRAGE_HTTP_PORT=8080

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin arbitrage \
    && install -d -o arbitrage -g arbitrage -m 700 /data

RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels arbitrage
# The Alembic scripts are not part of the wheel: they go where arbitrage.db.migrate looks for them (the directory
# above the installed package), asked from the package itself.
RUN --mount=type=bind,source=migrations,target=/tmp/migrations \
    cp -r /tmp/migrations "$(python -c 'from arbitrage.db.migrate import MIGRATIONS_DIR; print(MIGRATIONS_DIR)')"
COPY --chmod=755 docker/entrypoint.sh /usr/local/bin/arbitrage-entrypoint

USER arbitrage:arbitrage
WORKDIR /data
VOLUME ["/data"]
# /healthz and /metrics (ARBITRAGE_HTTP_PORT)
EXPOSE 8080
# 200 only when the database, every exchange's markets, the scheduler and the clocks are fine; urlopen raises on a
# 503 or a refused connection, so the exit code says it (no curl in a slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ARBITRAGE_HTTP_PORT', '8080'), timeout=4)"]
# SIGTERM: the daemon finishes the step in progress and closes its exchange clients (give it the time).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/arbitrage-entrypoint"]
CMD ["run"]
