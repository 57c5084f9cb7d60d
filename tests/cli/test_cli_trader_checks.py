"""`arbitrage subscribe` against the simulator: legs that do not hedge, impossible funding times, wrong keys, and
the trader's checks (the side pays, the net after fees, a duplicate)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., Any]
BTC = "BTC/USDT:USDT"


@pytest.fixture(autouse=True)
def quiet_logs(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("ARBITRAGE_LOG_LEVEL", "WARNING")


def next_funding(sim: Any, exchange: str = "bybit") -> datetime:
    return datetime.fromtimestamp(sim.engine.venue(exchange).instrument(BTC).next_funding_time / 1000, UTC)


def subscribe(*extra: str, primary: str = "bybit", hedge: str = "binance", side: str = "short") -> list[str]:
    return ["subscribe", "--primary", primary, "--hedge", hedge, "--side", side, "--amount", "0.01", *extra]


def refused(result: Any, workdir: Path, line: str) -> None:
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(line), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert not (workdir / "arbitrage.db").exists()


@pytest.mark.parametrize(
    ("symbols", "line"),
    [
        (["--primary-symbol", BTC, "--hedge-symbol", "ETH/USDT:USDT"],
         "error: --hedge-symbol: ETH/USDT:USDT is not the same coin as BTC/USDT:USDT (ETH vs BTC)"),
        (["--symbol", BTC, "--hedge-symbol", "ETH/USDT:USDT"],
         "error: --hedge-symbol: ETH/USDT:USDT is not the same coin as BTC/USDT:USDT"),
        (["--symbol", "PEPE/USDT:USDT", "--hedge-symbol", "1000PEPE/USDT:USDT"],
         "error: --hedge-symbol: 1000PEPE/USDT:USDT counts 1000 PEPE per unit and PEPE/USDT:USDT 1: one --amount"),
        (["--primary-symbol", "BTC/USDC:USDC", "--hedge-symbol", BTC],
         "error: --primary-symbol: BTC/USDC:USDC settles in USDC; only USDT-margined perpetuals are supported"),
    ],
    ids=["other-coin", "symbol-and-hedge-symbol", "multiplier", "usdc"],
)
def test_legs_must_be_the_same_coin_in_usdt(run: Run, workdir: Path, sim: Any, symbols: list[str], line: str) -> None:
    refused(run(*subscribe(*symbols)), workdir, line)


@pytest.mark.parametrize("amount", ["1e27", "1e400", "0.0000000000000000001"])
def test_absurd_amounts_are_usage_errors(run: Run, workdir: Path, sim: Any, amount: str) -> None:
    args = ["subscribe", "--symbol", BTC, "--primary", "bybit", "--hedge", "binance", "--side", "short",
            "--amount", amount]
    refused(run(*args), workdir, f"error: --amount: '{amount}' ")


def test_funding_times_that_never_occur_are_refused(run: Run, workdir: Path, sim: Any) -> None:
    nxt = next_funding(sim)
    schedule = f"bybit's next funding times for {BTC}: {nxt.isoformat()}, {(nxt + timedelta(hours=8)).isoformat()}"
    for when in ("3000-01-01T00:00:00Z", (nxt + timedelta(hours=3, minutes=17)).isoformat(),
                 (nxt + timedelta(milliseconds=500)).isoformat()):
        result = run(*subscribe("--symbol", BTC, "--funding-time", when))
        refused(result, workdir, "error: --funding-time: ")
        assert schedule in result.stderr or "funding intervals after the next one" in result.stderr, result.stderr
    forced = run(*subscribe("--symbol", BTC, "--funding-time", "3000-01-01T00:00:00Z", "--force"))
    assert "is more than 7 days after the next funding; not accepted" in forced.stderr


def test_only_the_next_three_instants_without_force(run: Run, workdir: Path, sim: Any) -> None:
    nxt = next_funding(sim)
    third = run(*subscribe("--symbol", BTC, "--funding-time", (nxt + timedelta(hours=16)).isoformat(), "--json"))
    assert third.exit_code == 0, third.stderr
    assert datetime.fromisoformat(json.loads(third.stdout)["funding_time"]) == nxt + timedelta(hours=16)

    fourth = (nxt + timedelta(hours=24)).isoformat()
    result = run(*subscribe("--symbol", BTC, "--funding-time", fourth))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --funding-time: {fourth} is 3 funding intervals after the next one")
    assert "pass --force" in result.stderr
    assert run(*subscribe("--symbol", BTC, "--funding-time", fourth, "--force")).exit_code == 0


def test_an_interval_the_exchange_changed_is_followed(run: Run, workdir: Path, sim: Any) -> None:
    nxt = next_funding(sim)
    sim.engine.set_funding("bybit", BTC, interval_s=4 * 3600)
    accepted = run(*subscribe("--symbol", BTC, "--funding-time", (nxt + timedelta(hours=4)).isoformat()))
    assert accepted.exit_code == 0, accepted.stderr


def test_a_wrong_secret_is_one_line_naming_the_exchange(
    run: Run, workdir: Path, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SECRET", "not-the-right-secret")
    result = run(*subscribe("--symbol", BTC))
    refused(result, workdir, "error: bybit rejected the API credentials (")
    assert result.stderr.rstrip().endswith(
        "check ARBITRAGE_EXCHANGES__BYBIT__API_KEY and ARBITRAGE_EXCHANGES__BYBIT__SECRET"
    )
    assert "not-the-right-secret" not in result.stderr


def test_a_side_that_pays_is_refused_unless_forced(run: Run, workdir: Path, sim: Any) -> None:
    sim.engine.set_funding("bybit", BTC, rate="-0.0002")  # shorts pay
    refused(run(*subscribe("--symbol", BTC)), workdir,
            "error: --side: short pays funding on bybit at the current rate -0.02% (the daemon skips it unless the "
            "rate turns by then); choose the other side, or pass --force")
    forced = run(*subscribe("--symbol", BTC, "--force"))
    assert forced.exit_code == 0 and "warning: short pays funding on bybit" in forced.stderr
    assert run(*subscribe("--symbol", BTC, side="long")).exit_code == 0


def test_the_expected_net_is_printed_and_a_loss_warned(
    run: Run, workdir: Path, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.engine.set_funding("bybit", BTC, rate="0.003")
    profitable = run(*subscribe("--symbol", BTC))
    assert profitable.exit_code == 0, profitable.stderr
    assert (
        "note: expected net at current rates +0.4160 USDT (+6.9 bps of 600 USDT): funding +1.8000 on bybit, "
        "-0.0600 on binanceusdm (same instant), taker fees -1.3200 (4 orders at 0.06% on bybit, 0.05% on "
        "binanceusdm), spread -0.0040 (crossing both order books to open and close)"
    ) in profitable.stderr.splitlines()  # ccxt's market fee rates; the books: 0.01 BTC crossing 1 tick each way

    assert run("cancel", "1").exit_code == 0
    sim.engine.update_instrument("bybit", BTC, book_half_spread_ticks=50, book_level_qty="0.004")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__TAKER_FEE", "0.0002")
    thin = run(*subscribe("--symbol", BTC))
    assert "taker fees -0.8400 (4 orders at 0.02% on bybit" in thin.stderr  # the account's rate, set
    # bybit: 0.004 × 5 + 0.004 × 5.1 + 0.002 × 5.2 = 0.0508 each way; binanceusdm 2 × 0.01 × 0.1
    assert "spread -0.1036 (crossing both order books" in thin.stderr
    assert run("cancel", "2").exit_code == 0
    monkeypatch.delenv("ARBITRAGE_EXCHANGES__BYBIT__TAKER_FEE")
    sim.engine.update_instrument("bybit", BTC, book_half_spread_ticks=1, book_level_qty=None)

    sim.engine.set_funding("bybit", BTC, rate="0.0001")
    sim.engine.set_funding("binanceusdm", BTC, next_funding_in_seconds=3600)  # the hedge settles at another time
    losing = run(*subscribe("--symbol", BTC, "--funding-time", next_funding(sim).isoformat()))
    assert losing.exit_code == 0
    assert "warning: expected net at current rates -1.2640 USDT (-21.1 bps of 600 USDT): funding +0.0600 on " \
           "bybit, none on binanceusdm (it settles at another time)" in losing.stderr


def test_an_identical_subscription_is_refused_unless_forced(run: Run, workdir: Path, sim: Any) -> None:
    first = run(*subscribe("--symbol", BTC))
    assert first.exit_code == 0, first.stderr
    again = run(*subscribe("--symbol", BTC))
    assert again.exit_code == 2
    assert again.stderr.strip() == (
        "error: --funding-time: an identical subscription exists: 1 (SCHEDULED), same legs, side and funding time; "
        "pass --force to add another"
    )
    assert json.loads(run("list", "--json").stdout)[0]["id"] == 1 and len(json.loads(run("list", "--json").stdout)) == 1
    assert run(*subscribe("--symbol", BTC, "--force")).exit_code == 0
    assert run("cancel", "1").exit_code == 0
    assert run(*subscribe("--symbol", BTC)).exit_code == 2  # 2 is still live
    assert run("cancel", "2").exit_code == 0
    assert run(*subscribe("--symbol", BTC)).exit_code == 0  # cancelled ones do not count


def test_mexc_says_plainly_what_is_not_checked(run: Run, workdir: Path, sim: Any) -> None:
    result = run(*subscribe("--symbol", BTC, hedge="mexc"))
    assert result.exit_code == 0, result.stderr
    assert "warning: mexc: the API key reads the futures account, but MEXC tells no API client whether it may " \
           "place futures orders" in result.stderr
