"""`arbitrage markets` and the metadata checks of `arbitrage subscribe`, in-process, against a running simulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain.funding import next_funding_time

Run = Callable[..., Any]
BTC = "BTC/USDT:USDT"
FUNDING = next_funding_time(datetime.now(UTC), 8).isoformat()  # the simulator's 00/08/16 UTC


@pytest.fixture(autouse=True)
def quiet_logs(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("ARBITRAGE_LOG_LEVEL", "WARNING")  # stderr holds only the notes and errors


def subscribe(*extra: str, primary: str = "bybit", hedge: str = "bingx", amount: str = "0.01") -> list[str]:
    return ["subscribe", "--primary", primary, "--hedge", hedge, "--side", "short", "--amount", amount, *extra]


def count(workdir: Path) -> int:
    if not (workdir / "arbitrage.db").exists():
        return 0

    async def query() -> int:
        async with Database(f"sqlite:///{workdir / 'arbitrage.db'}") as db, db.unit_of_work() as session:
            return int(await session.scalar(select(func.count()).select_from(Subscription)) or 0)

    return asyncio.run(query())


def test_refresh_then_show(run: Run, sim: Any) -> None:
    refreshed = run("markets", "refresh")
    assert refreshed.exit_code == 0, refreshed.stderr
    assert refreshed.stdout.splitlines() == [
        line for line in refreshed.stdout.splitlines() if "3 symbols (3 added, 0 changed, 0 delisted)" in line
    ]
    assert [line.split(":")[0] for line in refreshed.stdout.splitlines()] == ["binanceusdm", "bybit", "bingx", "mexc"]
    assert "0 added, 0 changed" in run("markets", "refresh", "--exchange", "binance").stdout

    shown = json.loads(run("markets", "show", "binance", BTC, "--json").stdout)
    assert (shown["min_notional"], shown["max_leverage"], shown["funding_interval_hours"]) == ("100", 125, 8)
    assert shown["leverage_tiers"][1] == {"floor": "50000", "cap": "600000", "max_leverage": 100,
                                          "maint_margin_rate": "0.005"}
    assert 0 <= shown["age_seconds"] < 60
    human = run("markets", "show", "bybit", BTC)
    assert human.exit_code == 0 and "leverage tiers" in human.stdout and "2000000" in human.stdout


def test_show_of_an_uncached_symbol_says_how_to_fill_it(run: Run, workdir: Path) -> None:
    result = run("markets", "show", "mexc", BTC)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {BTC} on mexc is not cached; run `arbitrage markets refresh --exchange mexc`"
    )


def test_refresh_of_an_unconfigured_exchange(run: Run, workdir: Path) -> None:
    result = run("markets", "refresh", "--exchange", "bybit")
    assert result.exit_code == 2 and "bybit is not configured" in result.stderr


def test_subscribe_rounds_caps_and_defaults_the_funding_time(run: Run, workdir: Path, sim: Any) -> None:
    next_funding = datetime.fromtimestamp(sim.engine.venue("bybit").instrument(BTC).next_funding_time / 1000, UTC)
    result = run(*subscribe("--symbol", BTC, "--leverage", "110", "--json", primary="bybit", hedge="binance",
                            amount="0.0105"))
    assert result.exit_code == 0, result.stderr
    row = json.loads(result.stdout)
    assert (row["amount"], row["leverage"]) == ("0.01", "110")  # the request is kept; capped again at the trigger
    assert datetime.fromisoformat(row["funding_time"]) == next_funding
    notes = result.stderr.strip().splitlines()
    assert notes[0] == (
        "note: amount 0.0105 rounded down to 0.01 (the step both bybit and binanceusdm accept is 0.001)"
    )
    assert notes[1].startswith("note: leverage capped from 110 to 100 (limit on bybit) at 600 USDT notional")
    assert notes[2] == (
        f"note: funding time {next_funding.isoformat()} (next funding on bybit); "
        f"binanceusdm's next funding: {next_funding.isoformat()}"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (subscribe("--symbol", "DOGE/USDT:USDT"), "error: --symbol: DOGE/USDT:USDT is not listed on bybit"),
        (subscribe("--symbol", BTC, amount="0.0001"),
         "error: --amount: amount 0.0001 rounds down to 0 at step 0.001 (the step both bybit and bingx accept)"),
        (subscribe("--symbol", BTC, primary="binance", amount="0.001"),
         "error: --amount: order value 60 (amount 0.001 at price 60000) is below binanceusdm's minimum order value "
         "100 for BTC/USDT:USDT; raise --amount to at least 0.002"),
        (subscribe("--symbol", "SOL/USDT:USDT", primary="bybit", hedge="binance", amount="0.5"),
         "error: --amount: amount 0.5 rounds down to 0 at step 1"),
        (subscribe("--symbol", BTC, amount="1000"), "error: --amount: position notional 60000000 exceeds the largest"),
    ],
    ids=["primary-lacks-symbol", "below-step", "below-min-notional", "coarser-step", "tiers"],
)
def test_subscribe_refuses_what_the_markets_refuse(
    run: Run, workdir: Path, sim: Any, args: list[str], message: str
) -> None:
    result = run(*args, "--funding-time", FUNDING)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert not (workdir / "arbitrage.db").exists()  # not even the market rows fetched for the checks


def test_subscribe_refuses_a_delisted_symbol(run: Run, workdir: Path, sim: Any) -> None:
    assert run("markets", "refresh").exit_code == 0
    sim.engine.delist("bingx", BTC)
    assert "1 delisted" in run("markets", "refresh", "--exchange", "bingx").stdout
    result = run(*subscribe("--symbol", BTC, "--funding-time", FUNDING))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --symbol: {BTC} is delisted on bingx (since ")
    assert count(workdir) == 0


def test_subscribe_needs_both_exchanges_configured(
    run: Run, workdir: Path, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for field in ("BASE_URL", "API_KEY", "SECRET"):
        monkeypatch.delenv(f"ARBITRAGE_EXCHANGES__BINGX__{field}")
    result = run(*subscribe("--symbol", BTC, "--funding-time", FUNDING))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --hedge: bingx is not configured: set ARBITRAGE_EXCHANGES__BINGX__API_KEY and __SECRET "
        "(subscribe checks the symbol, amount and leverage against the exchange's markets)"
    )
    assert not (workdir / "arbitrage.db").exists()


def test_leverage_max_is_stored_and_shown(run: Run, workdir: Path, sim: Any) -> None:
    result = run(*subscribe("--symbol", BTC, "--leverage", "max", "--funding-time", FUNDING, "--json"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["leverage"] == "max"
    assert "note: leverage 'max' resolved to 100 (limit on bybit)" in result.stderr
