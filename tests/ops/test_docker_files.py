"""Dockerfile, docker-compose.yml and .dockerignore, checked without a Docker engine: the stages, the user, the
health check (run for real against a local HTTP server), the entrypoint and the compose wiring."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
SECRET_NAME = re.compile(r"(API_KEY|SECRET|PASSWORD|PASSPHRASE|TOKEN)", re.IGNORECASE)


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    logical, current = [], ""
    for line in dockerfile.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            if current.strip():
                logical.append(current.strip())
            current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for step in steps:
        if step[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(step)
    return result


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())
BUILDER, RUNTIME = stages(DOCKERFILE)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _args(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [args for instruction, args in stage if instruction == name]


def test_multi_stage_build_wheels_into_a_slim_runtime():
    assert re.fullmatch(r"python:\S+-slim AS builder", BUILDER[0][1])
    assert "pip wheel --wheel-dir /wheels ." in _args(BUILDER, "RUN")
    assert re.fullmatch(r"python:\S+-slim AS runtime", RUNTIME[0][1])
    install = next(run for run in _args(RUNTIME, "RUN") if "pip install" in run)
    assert "from=builder" in install and "--no-index" in install, "the runtime installs the builder's wheels only"
    assert not [args for args in _args(RUNTIME, "COPY") if re.search(r"(^|\s)(arbitrage|\.)(\s|$)", args)], \
        "no source tree in the runtime image"


def test_runs_as_a_non_root_user_without_secrets_in_the_image():
    user = _args(RUNTIME, "USER")[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any("useradd" in run and user in run for run in _args(RUNTIME, "RUN"))
    names = [name for args in _args(RUNTIME, "ENV") + _args(BUILDER, "ENV") + _args(RUNTIME, "ARG")
             for name in re.findall(r"(\w+)=", args)]
    assert names and not [name for name in names if SECRET_NAME.search(name)]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "*.env", "*.db", ".venv", ".git"} <= set(ignored), "settings and databases stay out of the build"


def test_entrypoint_is_the_script_and_the_default_command_is_run():
    copy = next(args for args in _args(RUNTIME, "COPY") if "docker/entrypoint.sh" in args)
    destination = copy.split()[-1]
    assert "--chmod=755" in copy
    assert json.loads(_args(RUNTIME, "ENTRYPOINT")[-1]) == [destination]
    assert json.loads(_args(RUNTIME, "CMD")[-1]) == ["run"]
    migrations = next(run for run in _args(RUNTIME, "RUN") if "source=migrations" in run)
    assert "MIGRATIONS_DIR" in migrations, "the Alembic scripts go where arbitrage.db.migrate looks"


def _healthcheck_command() -> list[str]:
    healthcheck = _args(RUNTIME, "HEALTHCHECK")[-1]
    assert "--start-period=" in healthcheck
    return json.loads(healthcheck[healthcheck.index("CMD") + len("CMD"):].strip())


class _Health(BaseHTTPRequestHandler):
    status = 200
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).paths.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def _server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run_healthcheck(port: int) -> int:
    command = _healthcheck_command()
    assert command[0] == "python" and "curl" not in " ".join(command)
    env = {"ARBITRAGE_HTTP_PORT": str(port), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=30).returncode


def test_healthcheck_passes_on_200_and_fails_on_503_or_no_listener():
    with _server() as port:
        _Health.status = 200
        assert _run_healthcheck(port) == 0
        _Health.status = 503
        assert _run_healthcheck(port) != 0
        assert set(_Health.paths) == {"/healthz"}
    assert _run_healthcheck(port) != 0  # nothing listens any more


def test_compose_runs_the_daemon_after_a_healthy_postgres_with_a_volume():
    services = COMPOSE["services"]
    postgres, daemon = services["postgres"], services["arbitrage"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in COMPOSE["volumes"]
    assert daemon["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert daemon["build"] == "." and daemon["command"] == ["run"]
    assert "arbitrage.env" in [entry if isinstance(entry, str) else entry["path"] for entry in daemon["env_file"]]


def test_compose_points_the_daemon_at_the_postgres_service_and_the_health_port():
    postgres, daemon = COMPOSE["services"]["postgres"], COMPOSE["services"]["arbitrage"]
    env = daemon["environment"]
    url = env["ARBITRAGE_DATABASE_URL"]
    match = re.fullmatch(r"postgresql://(\w+):(\$\{POSTGRES_PASSWORD[^}]*\})@postgres:5432/(\w+)", url)
    assert match, url
    assert match.group(1) == postgres["environment"]["POSTGRES_USER"]
    assert match.group(3) == postgres["environment"]["POSTGRES_DB"]
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD"), "no password in the file"
    assert env["ARBITRAGE_HTTP_HOST"] == "0.0.0.0"
    published = daemon["ports"][0].rsplit(":", 1)[-1]
    assert env["ARBITRAGE_HTTP_PORT"] == published == "8080"
    assert daemon["ports"][0].startswith("127.0.0.1:"), "health and metrics are not published to the network"
    assert not [name for name in env if SECRET_NAME.search(name)]


def test_entrypoint_script_is_executable_posix_sh():
    script = ROOT / "docker" / "entrypoint.sh"
    assert script.stat().st_mode & 0o111
    assert script.read_text().startswith("#!/bin/sh\n")
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    assert shlex.split(script.read_text().strip().splitlines()[-1]) == ["exec", "arbitrage", "$@"]
