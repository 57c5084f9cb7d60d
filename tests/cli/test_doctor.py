"""`arbitrage doctor` against the simulator: all green, then one thing wrong at a time (a secret, the schema, the
clock, nothing configured), each named on one `problem:` line with its fix; secrets never printed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from arbitrage.db.migrate import current_revision, downgrade_to, head_revision
from arbitrage.simulator.engine import wall_clock_ms

Run = Callable[..., Any]
EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")
EXCHANGE_CHECKS = ("reachable", "clock", "credentials", "position mode", "rate budget")
ALERT_TOKEN = "hook-token-5c1e9a7b3d"


@pytest.fixture(autouse=True)
def quiet_logs(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("ARBITRAGE_LOG_LEVEL", "ERROR")


@pytest.fixture
def migrated(run: Run) -> None:
    assert run("db", "upgrade").exit_code == 0


def problems(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("problem: ")]


def secrets_of(sim: Any) -> list[str]:
    return [value for name, value in sim.env_vars().items() if name.endswith(("__API_KEY", "__SECRET"))]


def test_all_green_against_the_simulator(run: Run, sim: Any, migrated: None) -> None:
    result = run("doctor")
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[-1] == "all checks passed" and problems(result.stdout) == []
    for exchange in EXCHANGES:
        for check in EXCHANGE_CHECKS:
            assert f"  ok       {exchange}: {check}: " in result.stdout, (exchange, check)
    assert f"ok       database: schema: at revision {head_revision()} (head)" in result.stdout
    assert "warning  mexc: futures trading: " in result.stdout, "MEXC's permission cannot be read: said, not failed"
    assert "ARBITRAGE_EXCHANGES__BYBIT__SECRET" in result.stdout
    for secret in secrets_of(sim):
        assert secret not in result.stdout + result.stderr


def test_a_wrong_secret_names_the_exchange_and_the_fix(run: Run, sim: Any, migrated: None,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SECRET", "not-the-right-secret")
    result = run("doctor")
    assert result.exit_code == 1
    [line] = problems(result.stdout)
    assert line.startswith("problem: bybit: credentials: rejected the API credentials (")
    assert line.endswith("; check ARBITRAGE_EXCHANGES__BYBIT__API_KEY and ARBITRAGE_EXCHANGES__BYBIT__SECRET")
    assert "not-the-right-secret" not in result.stdout + result.stderr
    assert "ok       binanceusdm: credentials: " in result.stdout, "the other exchanges are still checked"


def test_a_database_at_an_old_revision_says_so(run: Run, sim: Any, migrated: None, workdir: Path) -> None:
    asyncio.run(downgrade_to(f"sqlite:///{workdir / 'arbitrage.db'}", "0001"))
    result = run("doctor")
    assert result.exit_code == 1
    assert problems(result.stdout) == [
        f"problem: database: schema: at revision 0001, head is {head_revision()}; run `arbitrage db upgrade`"
    ]


def test_a_missing_database_is_reported_and_not_created(run: Run, sim: Any, workdir: Path) -> None:
    result = run("doctor")
    assert result.exit_code == 1
    [line] = problems(result.stdout)
    assert line.startswith("problem: database: reachable: no database file at arbitrage.db; run `arbitrage db upgrade`")
    assert not (workdir / "arbitrage.db").exists()


def test_a_skewed_exchange_clock_is_a_problem(run: Run, sim: Any, migrated: None) -> None:
    sim.engine.clock = lambda: wall_clock_ms() + 2000  # bybit and the others run 2 s ahead; the limit is 1 s
    result = run("doctor")
    assert result.exit_code == 1
    clock_lines = [line for line in problems(result.stdout) if ": clock: " in line]
    assert len(clock_lines) == 4
    assert clock_lines[0].startswith("problem: binanceusdm: clock: offset +")
    assert "(limit 1000 ms): nothing opens there; synchronise this machine's clock" in clock_lines[0]


def test_nothing_configured_is_one_problem_with_the_fix(run: Run, migrated: None) -> None:
    result = run("doctor")
    assert result.exit_code == 1
    assert problems(result.stdout) == [
        "problem: exchanges: configured: no exchange is configured; set ARBITRAGE_EXCHANGES__<ID>__API_KEY and "
        "__SECRET (see config/arbitrage.env.example)"
    ]


def test_json_shape(run: Run, sim: Any, migrated: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_ALERT_URLS", f"json://127.0.0.1:9/hooks/{ALERT_TOKEN}")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BINGX__API_KEY", "wrong-bingx-key-123")
    result = run("doctor", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "configuration", "checks", "problems"} and report["ok"] is False
    configuration = report["configuration"]
    assert configuration["ARBITRAGE_EXCHANGES__BYBIT__API_KEY"] == "***"
    assert configuration["ARBITRAGE_ALERT_URLS"] == "*** (1: json)"
    # nested groups are shown one variable per field, as they are set
    assert configuration["ARBITRAGE_AUTO__ENABLED"] == "False" and configuration["ARBITRAGE_AUTO__SYMBOLS"] == "none"
    assert configuration["ARBITRAGE_ALERT_STATUSES"] == "ERROR,SKIPPED"
    assert all(set(check) == {"subject", "check", "level", "detail", "fix"} for check in report["checks"])
    assert {check["level"] for check in report["checks"]} == {"ok", "warning", "problem"}
    [problem] = [check for check in report["checks"] if check["level"] == "problem"]
    assert (problem["subject"], problem["check"]) == ("bingx", "credentials") and "BINGX__API_KEY" in problem["fix"]
    assert report["problems"] == [f"bingx: credentials: {problem['detail']}; {problem['fix']}"]
    alerts = next(check for check in report["checks"] if check["subject"] == "alerts")
    assert alerts["detail"] == "1 (json) on NEEDS_ATTENTION, ERROR, SKIPPED"
    for secret in [ALERT_TOKEN, "wrong-bingx-key-123", *secrets_of(sim)]:
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
def test_postgresql_empty_or_missing_databases_are_reported_never_created(
    run: Run, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", database_url)  # exists, no schema yet
    empty = run("doctor")
    assert "problem: database: schema: empty database (no schema); run `arbitrage db upgrade`" in empty.stdout
    assert asyncio.run(current_revision(database_url)) is None, "doctor migrated nothing"

    missing = make_url(database_url).set(database=f"{make_url(database_url).database}_absent")
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", missing.render_as_string(hide_password=False))
    result = run("doctor")
    [line] = [line for line in problems(result.stdout) if line.startswith("problem: database:")]
    assert line.startswith("problem: database: reachable: cannot connect: ") and "does not exist" in line
    assert line.endswith("; check ARBITRAGE_DATABASE_URL and that the database server runs and the database exists")
