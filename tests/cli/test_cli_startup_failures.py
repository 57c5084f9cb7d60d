"""Start-up failures are one line naming what could not be reached: the database (backend, host, port, name and
user, never the password) and what to check, exit 1; an exchange that does not answer at start is named."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from arbitrage.daemon import _load_markets
from arbitrage.exchanges.factory import build_connectors
from arbitrage.settings import load_settings

Run = Callable[..., Any]
PASSWORD = "s3cret-pw"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", ["list", "run", "show"])
def test_an_unreachable_postgres_is_one_line_naming_it_without_the_password(
    run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    port = _closed_port()
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", f"postgresql://trader:{PASSWORD}@127.0.0.1:{port}/arbdb")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__API_KEY", "key-1")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SECRET", "secret-1")
    result = run(*([command, "1"] if command == "show" else [command]))
    assert result.exit_code == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot reach the PostgreSQL database arbdb on 127.0.0.1:{port} (user trader): ")
    assert "ConnectionRefusedError" in line and "check that PostgreSQL is running there" in line
    assert PASSWORD not in result.stderr + result.stdout


def test_an_unopenable_sqlite_file_for_the_daemon_names_it(
    run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "ro").write_text("a file, not a directory")
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", f"sqlite:///{workdir / 'ro' / 'a.db'}")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__API_KEY", "key-1")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SECRET", "secret-1")
    result = run("run")
    assert result.exit_code == 1, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot open the SQLite database file {workdir / 'ro' / 'a.db'}: "), line
    assert "check that the path exists and is writable" in line


def test_an_exchange_unreachable_at_start_is_named(workdir: Path) -> None:
    settings = load_settings(None, database_url="sqlite:///x.db", exchanges={
        "bybit": {"api_key": "key-1", "secret": "secret-1", "base_url": f"http://127.0.0.1:{_closed_port()}"}})
    connectors = build_connectors(settings)

    async def start() -> None:
        try:
            await _load_markets(connectors)
        finally:
            await connectors.close()

    with structlog.testing.capture_logs() as logs:
        asyncio.run(start())
    [line] = [entry for entry in logs if entry["event"] == "exchange_unreachable_at_start"]
    assert line["exchange"] == "bybit" and line["log_level"] == "error"
    assert "ARBITRAGE_EXCHANGES__BYBIT__BASE_URL" in line["hint"] and line["error"].startswith("bybit: ")
