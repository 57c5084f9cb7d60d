"""`arbitrage run` with ARBITRAGE_HTTP_PORT: settings checked up front, and a port in use is one line, exit 1."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def exchange_configured(workdir, monkeypatch):
    # never contacted: the listener is started (and fails) before any exchange is
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__BASE_URL", "http://127.0.0.1:1/bybit")
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", f"sqlite:///{workdir / 'a.db'}")


def test_a_port_in_use_is_one_line_and_exit_1(run, exchange_configured, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("ARBITRAGE_HTTP_PORT", str(port))
        result = run("run")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("{")]
    assert lines == [f"error: ARBITRAGE_HTTP_HOST/ARBITRAGE_HTTP_PORT: cannot listen on 127.0.0.1:{port}: "
                     "address already in use"], result.stderr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("ARBITRAGE_HTTP_PORT", "70000", "invalid setting ARBITRAGE_HTTP_PORT: Input should be less than or equal to 65535"),
    ("ARBITRAGE_HTTP_PORT", "metrics", "invalid setting ARBITRAGE_HTTP_PORT: Input should be a valid integer"),
    ("ARBITRAGE_HTTP_HOST", " ", "invalid setting ARBITRAGE_HTTP_HOST: must be a host name or address"),
])
def test_bad_listener_settings_are_usage_errors(run, exchange_configured, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    result = run("run")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), result.stderr


def test_an_unknown_host_is_one_line_and_exit_1(run, exchange_configured, monkeypatch):
    monkeypatch.setenv("ARBITRAGE_HTTP_PORT", "0")
    monkeypatch.setenv("ARBITRAGE_HTTP_HOST", "no-such-host.invalid")
    result = run("run")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("{")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ARBITRAGE_HTTP_HOST/ARBITRAGE_HTTP_PORT: cannot listen on "
                               "no-such-host.invalid:0: "), lines
