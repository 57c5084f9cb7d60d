"""`arbitrage scan` against a threaded simulator: the table at 80 columns, JSON, filters and one-line errors."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from decimal import Decimal as D
from typing import Any

import pytest
from cli_simulator import threaded_simulator

from arbitrage.simulator.server import SimulatorServer

SCENARIO_FILE = Path(__file__).parents[1] / "services" / "test_scanner.py"


def scripted() -> dict[str, Any]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("scanner_scenario", SCENARIO_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scripted_scenario()  # type: ignore[no-any-return]


@pytest.fixture
def scripted_sim(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorServer]:
    with threaded_simulator(scripted()) as server:
        for name, value in server.env_vars().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__TAKER_FEE", "0.00055")
        monkeypatch.setenv("ARBITRAGE_EXCHANGES__BINANCEUSDM__TAKER_FEE", "0.0005")
        yield server


def test_table_fits_80_columns_with_commands_to_paste(run: Any, scripted_sim: SimulatorServer) -> None:
    result = run("scan", "--top", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    assert lines[0].startswith("6 candidates at ") and lines[1].endswith("best 3:")
    assert lines[2].split()[:3] == ["#", "coin", "primary→hedge"]
    first = lines[3].split()
    assert first[:4] == ["1", "BTC", "bybit→binanceusdm", "short"]
    assert first[-4:] == ["+0.874", "+8.7", "+20.98", "+765.6%"]
    command = shlex.split(lines[4].rstrip("\\") + " " + lines[5])
    assert command[:2] == ["arbitrage", "subscribe"]
    options = dict(zip(command[2::2], command[3::2], strict=True))
    assert options["--primary"] == "bybit" and options["--hedge"] == "binanceusdm"
    assert (options["--side"], options["--symbol"], options["--amount"]) == ("short", "BTC/USDT:USDT", "0.02")
    assert options["--funding-time"].endswith(":00:00Z")
    assert result.stderr == ""


def test_json_filters_and_blocked_rows(run: Any, scripted_sim: SimulatorServer) -> None:
    result = run("scan", "--json", "--top", "100", "--exchanges", "bybit,binanceusdm")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 6
    best = rows[0]
    assert (best["net_usdt"], best["net_bps"], best["spread_usdt"], best["side"]) == ("0.874", "8.74", "0.026", "short")
    assert best["subscribe"].startswith("arbitrage subscribe --primary bybit --hedge binanceusdm --side short")
    blocked = [row for row in rows if row["blocked_reason"]]
    assert blocked and all(row["symbol"] == "SOL/USDT:USDT" and row["subscribe"] is None for row in blocked)
    positive = json.loads(run("scan", "--json", "--min-net-bps", "0").stdout)
    assert [(row["primary"], row["side"], row["net_usdt"]) for row in positive] == [("bybit", "short", "0.874")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--notional-usdt", "abc"], "error: --notional-usdt: 'abc' is not a number"),
        (["--notional-usdt", "-5"], "error: --notional-usdt: must be positive, got -5"),
        (["--exchanges", "bybit"], "error: --exchanges: a scan needs two exchanges or more"),
        (["--exchanges", "bybit,kraken"], "error: --exchanges: unknown exchange 'kraken'"),
        (["--min-net-bps", "1e400"], "error: --min-net-bps: '1e400' is out of range"),
    ],
)
def test_bad_input_is_one_line_exit_2(run: Any, sim: SimulatorServer, args: list[str], message: str) -> None:
    result = run("scan", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""
    assert not list(Path.cwd().glob("*.db"))  # nothing created


def test_the_pasted_command_subscribes(run: Any, scripted_sim: SimulatorServer) -> None:
    best = json.loads(run("scan", "--json", "--top", "1").stdout)[0]
    command = shlex.split(best["subscribe"])
    assert command[:2] == ["arbitrage", "subscribe"]
    created = run(*command[1:], "--json")
    assert created.exit_code == 0, created.stderr
    row = json.loads(created.stdout)
    assert (row["primary_exchange"], row["hedge_exchange"], row["side"], row["amount"]) == (
        "bybit", "binanceusdm", "SHORT", "0.02")
    # subscribe's own estimate agrees with the scan's (same rates, fees, books)
    assert f"expected net at current rates +{D(best['net_usdt']):.4f} USDT" in created.stderr
