# The daemon and CLI in one image. Settings come from the environment (see config/arbitrage.env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ARBITRAGE_LOG_FORMAT=json \
    ARBITRAGE_DATABASE_URL=sqlite:////data/arbitrage.db

RUN useradd --create-home --uid 10001 arbitrage && mkdir -p /data && chown arbitrage /data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY arbitrage ./arbitrage
COPY migrations ./migrations
COPY config ./config
# Editable install: the migration scripts are found next to the package (arbitrage.db.migrate).
RUN pip install -e .

USER arbitrage
VOLUME ["/data"]
ENTRYPOINT ["arbitrage"]
CMD ["run"]
