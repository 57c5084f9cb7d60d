"""`python -m arbitrage` as a real process: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_simulator import threaded_simulator

from arbitrage.domain.funding import next_funding_time

FUNDING = next_funding_time(datetime.now(UTC), 8).strftime("%Y-%m-%dT%H:%M:%SZ")  # the simulator's
SUBSCRIBE = [
    "subscribe",
    "--symbol",
    "ETH/USDT:USDT",
    "--primary",
    "binance",
    "--hedge",
    "mexc",
    "--side",
    "short",
    "--amount",
    "0.5",
    "--funding-time",
    FUNDING,
]


def _arbitrage(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ARBITRAGE_")}
    return subprocess.run(
        [sys.executable, "-m", "arbitrage", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "exit_code", "stderr"),
    [
        ([*SUBSCRIBE[:4], "kraken", *SUBSCRIBE[5:]], {}, 2, "error: --primary: unknown exchange 'kraken'"),
        (["list"], {"ARBITRAGE_DEFAULT_LEVERAGE": "lots"}, 2, "error: invalid setting ARBITRAGE_DEFAULT_LEVERAGE:"),
        (["list"], {"ARBITRAGE_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}, 1, "error: "),
        (["db", "upgrade"], {"ARBITRAGE_DATABASE_URL": "sqlite:///nodir/x.db"}, 2,
         "error: invalid setting ARBITRAGE_DATABASE_URL: cannot create nodir/x.db: directory nodir does not exist"),
        (["show", "1"], {"ARBITRAGE_DATABASE_URL": "sqlite:///nodir/x.db"}, 2, "error: subscription 1 not found"),
    ],
    ids=["bad-input", "bad-setting", "runtime-failure", "sqlite-dir-missing", "read-without-database"],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], exit_code: int, stderr: str
) -> None:
    result = _arbitrage(tmp_path, *args, **env)
    assert result.returncode == exit_code
    assert result.stderr.startswith(stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_subscribe_then_list_as_json(tmp_path: Path) -> None:
    with threaded_simulator() as sim:
        created = _arbitrage(tmp_path, *SUBSCRIBE, ARBITRAGE_LOG_LEVEL="WARNING", **sim.env_vars())
    assert (created.returncode, created.stdout.strip()) == (0, "1"), created.stderr
    # no log lines: only the trader's warnings (MEXC's API trading permission, the net after fees)
    assert [line.split(":")[0] for line in created.stderr.splitlines()] == ["warning", "warning"]
    listed = _arbitrage(tmp_path, "list", "--json", ARBITRAGE_LOG_LEVEL="WARNING")
    assert listed.returncode == 0
    [row] = json.loads(listed.stdout)
    assert (row["primary_exchange"], row["hedge_exchange"], row["side"], row["amount"]) == (
        "binanceusdm",
        "mexc",
        "SHORT",
        "0.5",
    )
    assert row["funding_time"] == FUNDING.replace("Z", "+00:00")
