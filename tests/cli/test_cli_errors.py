"""Every bad invocation is one `error:` line with the right exit code, and leaves nothing behind."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., Any]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["cancel", "abc"], "error: Invalid value for 'ID': Input should be a valid integer"),
        (["show", "-1"], "error: Invalid value for 'ID': Input should be greater than or equal to 1"),
        (["cancel", "-5"], "error: Invalid value for 'ID': Input should be greater than or equal to 1"),
        (["show", "0"], "error: Invalid value for 'ID': Input should be greater than or equal to 1"),
        (["show", "9223372036854775808"], "error: Invalid value for 'ID': Input should be less than or equal to"),
        (["subscribe", "--no-such-option"], "error: No such option: --no-such-option"),
        (["no-such-command"], "error: No such command 'no-such-command'."),
        (["simulator", "--port", "70000"], "error: Invalid value for '--port'"),
        (["simulator", "--scenario", "missing.json"], "error: Invalid value for '--scenario': file 'missing.json'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(run: Run, workdir: Path, args: list[str], line: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert list(workdir.iterdir()) == []


def test_env_file_that_is_a_directory(run: Run, workdir: Path) -> None:
    (workdir / "conf").mkdir()
    result = run("--env-file", str(workdir / "conf"), "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Invalid value for '--env-file'")
    assert "is a directory" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_no_arguments_prints_the_help(run: Run, workdir: Path) -> None:
    result = run()
    assert result.exit_code == 2 and "Usage: arbitrage" in result.stdout


def test_unknown_exchange_setting_is_named_not_redacted(
    run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__APIKEY", "x")
    result = run("list")
    assert (result.exit_code, result.stderr.strip()) == (
        2,
        "error: invalid setting ARBITRAGE_EXCHANGES__BYBIT__APIKEY: unknown setting",
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ('{"venues": {"bybit": {"settings": {"nope": 1}}}}', "venues.bybit.settings: unknown keys"),
    ],
)
def test_simulator_refuses_a_bad_scenario_with_exit_2(run: Run, workdir: Path, content: str, problem: str) -> None:
    (workdir / "bad.json").write_text(content)
    result = run("simulator", "--scenario", "bad.json")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --scenario: ") and problem in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_simulator_on_a_busy_port_is_exit_2(run: Run, workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("simulator", "--port", str(port))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: --host/--port: cannot listen on 127.0.0.1:{port}: ")


def test_simulator_write_env_into_a_missing_directory(run: Run, workdir: Path) -> None:
    result = run("simulator", "--write-env", "nodir/sim.env")
    assert (result.exit_code, result.stderr.strip()) == (2, "error: --write-env: directory nodir does not exist")


@pytest.mark.parametrize(
    ("setup", "command", "exit_code", "line"),
    [
        ("dir", ["list"], 2, "error: invalid setting ARBITRAGE_DATABASE_URL: state.db is a directory"),
        ("dir", ["db", "upgrade"], 2, "error: invalid setting ARBITRAGE_DATABASE_URL: state.db is a directory"),
        ("missing-parent", ["db", "upgrade"], 2,
         "error: invalid setting ARBITRAGE_DATABASE_URL: cannot create nodir/state.db: directory nodir does not"),
        ("missing-parent", ["list"], 0, "no subscriptions"),
        ("junk", ["list"], 1, "error: cannot open the SQLite database state.db: file is not a database"),
        ("junk", ["db", "current"], 1, "error: cannot open the SQLite database state.db: file is not a database"),
        ("junk", ["show", "1"], 1, "error: cannot open the SQLite database state.db: file is not a database"),
    ],
)
def test_an_unusable_sqlite_path_is_one_line_naming_it(
    run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch, setup: str, command: list[str], exit_code: int,
    line: str,
) -> None:
    path = "nodir/state.db" if setup == "missing-parent" else "state.db"
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", f"sqlite:///{path}")
    if setup == "dir":
        (workdir / "state.db").mkdir()
    elif setup == "junk":
        (workdir / "state.db").write_text("not a database")
    before = sorted(p.name for p in workdir.iterdir())
    result = run(*command)
    assert result.exit_code == exit_code
    assert (result.stdout + result.stderr).strip() == (result.stdout + result.stderr).strip().splitlines()[0]
    assert (result.stdout + result.stderr).startswith(line)
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_commands_log_warnings_only_unless_verbose(run: Run, sim: Any) -> None:
    quiet = run("markets", "refresh", "--exchange", "bybit")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    verbose = run("--verbose", "markets", "refresh", "--exchange", "bybit")
    events = [json.loads(line)["event"] for line in verbose.stderr.splitlines()]
    assert verbose.exit_code == 0 and "markets_refreshed" in events


def test_a_quieter_configured_level_is_kept(run: Run, sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_LOG_LEVEL", "ERROR")
    assert run("--verbose", "markets", "refresh", "--exchange", "bybit").stderr != ""  # --verbose still wins
    from arbitrage.cli.context import cli_log_level, options

    options.verbose = False
    assert cli_log_level("ERROR", daemon=False) == "ERROR"
    assert cli_log_level("DEBUG", daemon=False) == "WARNING"
    assert cli_log_level("INFO", daemon=True) == "INFO"
