"""The scanner on scripted simulator markets (unmodified ccxt over loopback): ranking and exact net figures, one
rate request per exchange, intervals picked up and cached."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from arbitrage.db import symbol_filters
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.exchanges.factory import build_connectors
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.scan_catalog import ScanCatalog
from arbitrage.services.scanner import scan_opportunities
from arbitrage.settings import Settings
from arbitrage.simulator.scenario import DEFAULT_SCENARIO
from arbitrage.simulator.server import SimulatorServer

BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
HOUR_MS = 3_600_000
RATE_PATHS = {
    "binanceusdm": "/fapi/v1/premiumIndex",
    "bybit": "/v5/market/tickers",
    "bingx": "/openApi/swap/v2/quote/premiumIndex",
    "mexc": "/api/v1/contract/ticker",
}
FEES = {"bybit": "0.00055", "binanceusdm": "0.0005", "bingx": "0.0005", "mexc": "0.0002"}


def settings_for(sim: SimulatorServer, database_url: str = "sqlite:///unused.db", **overrides: Any) -> Settings:
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id),
                                  "taker_fee": FEES[exchange_id]}
    return Settings(_env_file=None, database_url=database_url, exchanges=exchanges, **overrides)  # type: ignore[call-arg]


def next_hour_ms() -> int:
    return (int(time.time() * 1000) // HOUR_MS + 1) * HOUR_MS


def scripted_scenario() -> dict[str, Any]:
    """bybit and binanceusdm only. T = the next full hour.
    BTC at 50 000: bybit 1 h, rate 0.003, next T, a book 5 ticks wide either side with 0.01 BTC per level;
    binanceusdm 8 h, rate 0.0001, next T + 1 h, 1 tick either side, 1 BTC per level.
    ETH at 2 500, both 8 h and next T: bybit 0.0005, binanceusdm -0.0002.
    SOL: binanceusdm's minimum order value 2000 USDT blocks a 1000 USDT subscription."""
    data = json.loads(DEFAULT_SCENARIO.read_text())
    venues = {key: data["venues"][key] for key in ("bybit", "binanceusdm")}
    t = next_hour_ms()
    script = {
        ("bybit", BTC): {"mark_price": "50000", "funding_rate": "0.003", "funding_interval_hours": 1,
                         "next_funding_time": t, "book_half_spread_ticks": 5, "book_level_qty": "0.01"},
        ("binanceusdm", BTC): {"mark_price": "50000", "funding_rate": "0.0001", "next_funding_time": t + HOUR_MS},
        ("bybit", ETH): {"mark_price": "2500", "funding_rate": "0.0005", "next_funding_time": t},
        ("binanceusdm", ETH): {"mark_price": "2500", "funding_rate": "-0.0002", "next_funding_time": t},
        ("binanceusdm", SOL): {"min_notional": "2000"},
    }
    for exchange_id, venue in venues.items():
        venue["settings"]["rate_limits"] = True
        for item in venue["instruments"]:
            item.update(script.get((exchange_id, item["symbol"]), {}))
    return {"venues": venues}


@pytest.fixture
def scenario() -> dict[str, Any] | None:
    return scripted_scenario()


@pytest.fixture
async def sim(scenario: dict[str, Any] | None) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=copy.deepcopy(scenario)) as server:
        yield server


@pytest.fixture
async def connectors(sim: SimulatorServer) -> AsyncIterator[ConnectorRegistry]:
    registry = build_connectors(settings_for(sim))
    yield registry
    await registry.close()


def find(rows: list[Any], symbol: str, primary: str, side: Side) -> Any:
    return next(row for row in rows if (row.symbol, row.primary, row.side) == (symbol, primary, side))


async def test_ranking_and_exact_net_figures(sim: SimulatorServer, connectors: ConnectorRegistry) -> None:
    settings = settings_for(sim)
    rows = await scan_opportunities(connectors, ScanCatalog(None, connectors), settings, notional_usdt=D(1000))
    assert len(rows) == 3 * 2  # three shared symbols × two ordered pairs, on the side the primary's rate pays
    assert [row.net_usdt for row in rows] == sorted((row.net_usdt for row in rows), reverse=True)
    t = datetime.fromtimestamp(next_hour_ms() / 1000, UTC)

    best = rows[0]  # collect 0.003 hourly on bybit, nothing to pay: binance settles an hour later
    assert (best.symbol, best.primary, best.hedge, best.side, best.funding_time) == (BTC, "bybit", "binanceusdm",
                                                                                    Side.SHORT, t)
    assert (best.amount, best.notional_usdt, best.hedge_rate, best.primary_interval_hours) == (D("0.02"), D(1000),
                                                                                               None, 1)
    # funding 1000 × 0.003; fees 2 × 1000 × (0.00055 + 0.0005); spread: bybit 2 × (0.01 × 0.5 + 0.01 × 0.6),
    # binance 2 × 0.02 × 0.1
    assert (best.funding_usdt, best.fees_usdt, best.spread_usdt) == (D("3"), D("2.1"), D("0.026"))
    assert (best.net_usdt, best.net_bps, best.net_per_day_usdt, best.apr) == (
        D("0.874"), D("8.74"), D("20.976"), D("7.65624"))
    assert best.spread_known and best.blocked_reason is None

    # binance's short receives at T + 1 h, when bybit (hourly) settles too and its long pays 0.003
    reverse = find(rows, BTC, "binanceusdm", Side.SHORT)
    assert (reverse.funding_time, reverse.hedge_rate) == (t + timedelta(hours=1), D("0.003"))
    assert (reverse.funding_usdt, reverse.net_usdt, reverse.net_per_day_usdt) == (D("-2.9"), D("-5.026"),
                                                                                   D("-15.078"))
    assert not [row for row in rows if (row.symbol, row.primary, row.side) == (BTC, "binanceusdm", Side.LONG)]

    eth = find(rows, ETH, "bybit", Side.SHORT)  # same instant: binance's long receives the negative rate
    assert (eth.amount, eth.hedge_rate, eth.funding_usdt, eth.spread_usdt, eth.net_usdt) == (
        D("0.4"), D("-0.0002"), D("0.7"), D("0.016"), D("-1.416"))

    sol = find(rows, SOL, "bybit", Side.LONG)  # both SOL rates are negative: longs receive
    assert sol.blocked_reason is not None and "minimum order value 2000" in sol.blocked_reason
    assert "needs at least 14 SOL (--notional-usdt 2100)" in sol.blocked_reason


async def test_leverage_tier_and_listing_block_rows(sim: SimulatorServer, connectors: ConnectorRegistry,
                                                   migrated_database_url: str) -> None:
    sim.engine.update_instrument("binanceusdm", ETH, tiers=[[0, 500, 20, "0.01"]])  # 1000 USDT is above every tier
    rows = await scan_opportunities(connectors, ScanCatalog(None, connectors), settings_for(sim), notional_usdt=D(1000))
    eth = find(rows, ETH, "bybit", Side.SHORT)
    assert eth.blocked_reason == ("position notional 1000 exceeds the largest tier (cap 500) for ETH/USDT:USDT on "
                                  "binanceusdm; lower --notional-usdt")
    assert not eth.spread_known  # no book is read for a row that cannot be subscribed

    db = Database(migrated_database_url)
    try:
        await CachedMarketCatalog(db, connectors).refresh()
        async with db.unit_of_work() as session:
            await symbol_filters.mark_symbols_delisted(session, "bybit", [BTC], now=datetime.now(UTC))
        rows = await scan_opportunities(connectors, ScanCatalog(db, connectors), settings_for(sim),
                                        notional_usdt=D(1000))
        btc = find(rows, BTC, "binanceusdm", Side.SHORT)
        assert btc.blocked_reason is not None and btc.blocked_reason.startswith("BTC/USDT:USDT is delisted on bybit")
    finally:
        await db.dispose()


async def test_one_rate_request_per_exchange(connectors: ConnectorRegistry, sim: SimulatorServer) -> None:
    await scan_opportunities(connectors, ScanCatalog(None, connectors), settings_for(sim), notional_usdt=D(1000))
    for exchange_id in ("bybit", "binanceusdm"):
        paths = [record.path for record in sim.requests.query(exchange=exchange_id)]
        assert paths.count(RATE_PATHS[exchange_id]) == 1, paths
        assert not [path for path in paths if "funding_rate" in path or path.endswith("/premiumIndex?symbol")]


@pytest.mark.parametrize("daemon_catalog", [False, True], ids=["scan-catalog", "daemon-catalog"])
async def test_interval_change_is_picked_up_before_the_instant(sim: SimulatorServer, connectors: ConnectorRegistry,
                                                              migrated_database_url: str, daemon_catalog: bool) -> None:
    db = Database(migrated_database_url)
    try:
        daemon = CachedMarketCatalog(db, connectors)
        await daemon.refresh()
        settings = settings_for(sim, migrated_database_url)

        def catalog() -> Any:
            return daemon if daemon_catalog else ScanCatalog(db, connectors)

        rows = await scan_opportunities(connectors, catalog(), settings, notional_usdt=D(1000))
        assert find(rows, ETH, "bybit", Side.SHORT).primary_interval_hours == 8
        # Bybit moves ETH to hourly settlement (its rate hit the cap): the next funding comes at the next hour.
        sim.engine.set_funding("bybit", ETH, interval_s=3600, realign=True)
        sim.engine.set_funding("binanceusdm", ETH, next_funding_time=next_hour_ms() + 7 * HOUR_MS)
        rows = await scan_opportunities(connectors, catalog(), settings, notional_usdt=D(1000))
        eth = find(rows, ETH, "bybit", Side.SHORT)
        assert (eth.primary_interval_hours, eth.hedge_rate) == (1, None)  # binance no longer settles with it
        assert eth.net_per_day_usdt == eth.net_usdt * 24
        async with db.unit_of_work() as session:
            row = await symbol_filters.get_symbol_filter(session, "bybit", ETH)
        assert row is not None and row.funding_interval_hours == 1  # the cache follows
    finally:
        await db.dispose()


@pytest.mark.parametrize("scenario", [None])
async def test_four_exchanges_mexc_schedule_cached_and_confirmed(
    sim: SimulatorServer, connectors: ConnectorRegistry, migrated_database_url: str
) -> None:
    db = Database(migrated_database_url)
    try:
        await CachedMarketCatalog(db, connectors).refresh()
        settings = settings_for(sim, migrated_database_url)
        sim.requests.clear()
        rows = await scan_opportunities(connectors, ScanCatalog(db, connectors), settings, notional_usdt=D(1000))
        assert {row.primary for row in rows} == set(RATE_PATHS)
        for exchange_id, path in RATE_PATHS.items():
            assert [r.path for r in sim.requests.query(exchange=exchange_id)].count(path) == 1
        first = [r.path for r in sim.requests.query(exchange="mexc", path="/api/v1/contract/funding_rate/*")]
        assert len(first) == 3  # collectCycle of the three shared symbols, once
        mexc_btc = find(rows, BTC, "mexc", Side.SHORT)
        assert (mexc_btc.primary_interval_hours, mexc_btc.funding_time.hour % 8) == (8, 0)
        sim.requests.clear()
        no_books = settings.model_copy(update={"scan_max_order_books": 0})
        rows = await scan_opportunities(connectors, ScanCatalog(db, connectors), no_books, notional_usdt=D(1000))
        assert sim.requests.query(exchange="mexc", path="/api/v1/contract/funding_rate/*") == []  # cached
        assert find(rows, BTC, "mexc", Side.SHORT).funding_time == mexc_btc.funding_time  # the UTC grid

        # MEXC moves BTC to 4 h: a leg worth a book is read again before it is shown, and the cache follows
        sim.engine.set_funding("mexc", BTC, interval_s=4 * 3600, realign=True)
        sim.requests.clear()
        rows = await scan_opportunities(connectors, ScanCatalog(db, connectors), settings, notional_usdt=D(1000))
        assert find(rows, BTC, "mexc", Side.SHORT).primary_interval_hours == 4
        async with db.unit_of_work() as session:
            row = await symbol_filters.get_symbol_filter(session, "mexc", BTC)
        assert row is not None and row.funding_interval_hours == 4
    finally:
        await db.dispose()


async def test_an_exchange_that_cannot_be_read_is_left_out(sim: SimulatorServer, connectors: ConnectorRegistry) -> None:
    # always 503: the connector retries its reads within their deadline, then gives up
    sim.faults.add(action="http_5xx", exchange="binanceusdm", path="/fapi/v1/premiumIndex", times=None)
    problems: list[str] = []
    settings = settings_for(sim)
    rows = await scan_opportunities(connectors, ScanCatalog(None, connectors), settings, notional_usdt=D(1000),
                                    problems=problems)
    assert rows == []  # bybit alone shares nothing
    assert len(problems) == 1 and problems[0].startswith("binanceusdm left out: binanceusdm: ")
    sim.faults.add(action="http_5xx", exchange="bybit", path="/v5/market/tickers", times=None)
    with pytest.raises(ExchangeError):
        await scan_opportunities(connectors, ScanCatalog(None, connectors), settings, notional_usdt=D(1000))


async def test_auto_subscribe_on_the_real_scanner(sim: SimulatorServer, connectors: ConnectorRegistry,
                                                  migrated_database_url: str) -> None:
    """The seam auto-subscribe codes against: the daemon's catalog, the scanner's rows, subscribe's review."""
    from arbitrage.db import repository as repo
    from arbitrage.db.models import AutoOutcome
    from arbitrage.services.auto_subscribe import AutoSubscriber

    auto = {"enabled": True, "scan_ahead_seconds": 3600, "min_net_bps": "2", "notional_usdt": "1000"}
    settings = settings_for(sim, migrated_database_url, auto=auto)
    db = Database(migrated_database_url)
    try:
        catalog = CachedMarketCatalog(db, connectors)
        await catalog.refresh()
        records = await AutoSubscriber(db, connectors, catalog, settings, scan_opportunities).run()
        created = [r for r in records if r.outcome is AutoOutcome.CREATED]
        assert [(r.opportunity.symbol, r.opportunity.primary, r.opportunity.side) for r in created] == [
            (BTC, "bybit", Side.SHORT)]
        assert all(r.outcome is AutoOutcome.REJECTED for r in records if r not in created)
        async with db.unit_of_work() as session:
            [row] = list(await repo.list_subscriptions(session))
        assert (row.amount, row.estimate_net) == (D("0.02"), D("0.874"))
    finally:
        await db.dispose()
