"""The symbol_filters cache against the simulator (unmodified ccxt over loopback), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from arbitrage.db import symbol_filters
from arbitrage.db.session import Database
from arbitrage.domain.errors import LeverageError
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.exchanges.factory import build_connectors
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.settings import Settings
from arbitrage.simulator.scenario import generated_scenario
from arbitrage.simulator.server import SimulatorServer

EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")
BTC = "BTC/USDT:USDT"
# The request each venue's tiers cost on a miss (bingx and mexc take them from the loaded markets).
TIER_PATHS = {"binanceusdm": "/fapi/v1/leverageBracket", "bybit": "/v5/market/risk-limit"}


def sim_settings(sim: SimulatorServer, database_url: str) -> Settings:
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id)}
    return Settings(_env_file=None, database_url=database_url, exchanges=exchanges)  # type: ignore[call-arg]


@pytest.fixture
def scenario() -> Any:
    return None


@pytest.fixture
async def sim(scenario: Any) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=scenario) as server:
        yield server


@pytest.fixture
async def db(migrated_database_url: str) -> AsyncIterator[Database]:
    database = Database(migrated_database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def connectors(sim: SimulatorServer, migrated_database_url: str) -> AsyncIterator[ConnectorRegistry]:
    registry = build_connectors(sim_settings(sim, migrated_database_url))
    yield registry
    await registry.close()


@pytest.fixture
def catalog(db: Database, connectors: ConnectorRegistry) -> CachedMarketCatalog:
    return CachedMarketCatalog(db, connectors)


def expected_row(exchange: str, instrument: Any) -> dict[str, Any]:
    """What the cache must hold for a simulator instrument (its quantities are in contracts on MEXC)."""
    size = instrument.contract_size
    single = exchange in ("bingx", "mexc")
    tiers = [
        (t.notional_floor, None if single else t.notional_cap, t.max_leverage)
        for t in (instrument.tiers[:1] if single else instrument.tiers)
    ]
    return {
        "tick_size": instrument.tick_size,
        "step_size": instrument.step_size * size,
        "min_qty": instrument.min_qty * size,
        "min_notional": instrument.min_notional if exchange != "mexc" else None,
        "contract_size": size,
        "max_leverage": instrument.max_leverage,
        "tiers": tiers,
        # mexc tells the interval only per symbol: a refresh leaves it unknown
        "funding_interval_hours": None if exchange == "mexc" else int(instrument.funding_interval_hours),
    }


def stored_row(row: Any) -> dict[str, Any]:
    return {
        "tick_size": row.tick_size,
        "step_size": row.step_size,
        "min_qty": row.min_qty,
        "min_notional": row.min_notional or None,
        "contract_size": row.contract_size,
        "max_leverage": row.max_leverage,
        "tiers": [
            (Decimal(t["floor"]), Decimal(t["cap"]) if t["cap"] is not None else None, t["max_leverage"])
            for t in row.leverage_tiers
        ],
        "funding_interval_hours": row.funding_interval_hours,
    }


async def test_refresh_stores_every_instrument_of_every_exchange(
    sim: SimulatorServer, db: Database, catalog: CachedMarketCatalog
) -> None:
    summaries = await catalog.refresh()
    assert [(s.exchange, s.error, len(s.added)) for s in summaries] == [(e, None, 3) for e in sorted(EXCHANGES)]
    for exchange in EXCHANGES:
        venue = sim.engine.venue(exchange)
        async with db.unit_of_work() as session:
            rows = {row.symbol: row for row in await symbol_filters.symbol_filters_for(session, exchange)}
        assert set(rows) == set(venue.instruments)
        for symbol, instrument in venue.instruments.items():
            assert stored_row(rows[symbol]) == expected_row(exchange, instrument), (exchange, symbol)
            assert rows[symbol].delisted_at is None

    again = await catalog.refresh()
    assert [(len(s.added), len(s.changed), len(s.delisted)) for s in again] == [(0, 0, 0)] * 4


async def test_changed_rules_are_updated(sim: SimulatorServer, db: Database, catalog: CachedMarketCatalog) -> None:
    await catalog.refresh(["bybit"])
    sim.engine.update_instrument("bybit", BTC, min_notional="50")
    [summary] = await catalog.refresh(["bybit"])
    assert (summary.added, summary.changed) == ([], [BTC])
    assert (await catalog.rules("bybit", BTC)).min_notional == Decimal(50)


@pytest.mark.parametrize("exchange", EXCHANGES)
async def test_cache_hit_sends_no_request_and_miss_sends_at_most_one(
    sim: SimulatorServer, db: Database, connectors: ConnectorRegistry, catalog: CachedMarketCatalog, exchange: str
) -> None:
    await connectors.get(exchange).load_markets()
    before = len(sim.requests.query(exchange=exchange))
    rules = await catalog.rules(exchange, BTC)  # miss: fetched once and stored
    miss_requests = sim.requests.query(exchange=exchange)[before:]
    assert [r.path for r in miss_requests] == ([TIER_PATHS[exchange]] if exchange in TIER_PATHS else [])
    async with db.unit_of_work() as session:
        assert await symbol_filters.get_symbol_filter(session, exchange, BTC) is not None
    instrument = sim.engine.venue(exchange).instrument(BTC)
    assert rules.step_size == instrument.step_size * instrument.contract_size

    before = len(sim.requests.query(exchange=exchange))
    assert await catalog.rules(exchange, BTC) == rules
    assert await catalog.max_leverage(exchange, BTC, Decimal(1000)) == instrument.max_leverage
    assert sim.requests.query(exchange=exchange)[before:] == [], "a cache hit must not touch the exchange"


@pytest.mark.parametrize(
    ("exchange", "notional", "expected"),
    [
        ("binanceusdm", Decimal(0), 125),
        ("binanceusdm", Decimal("49999.99"), 125),
        ("binanceusdm", Decimal(50000), 100),  # the floor belongs to the next bracket
        ("binanceusdm", Decimal(650000), 75),
        ("bybit", Decimal(1999999), 100),
        ("bybit", Decimal(2000000), 50),
        ("bingx", Decimal(10_000_000), 125),  # one unbounded tier: the market's max long/short leverage
        ("mexc", Decimal(10_000_000), 125),
    ],
)
async def test_bracket_containing_the_notional(
    catalog: CachedMarketCatalog, exchange: str, notional: Decimal, expected: int
) -> None:
    await catalog.refresh([exchange])
    assert await catalog.max_leverage(exchange, BTC, notional) == expected


async def test_notional_above_the_last_bracket_is_refused(catalog: CachedMarketCatalog) -> None:
    await catalog.refresh(["binanceusdm"])
    with pytest.raises(LeverageError, match="exceeds the largest tier"):
        await catalog.max_leverage("binanceusdm", BTC, Decimal(2_000_000_000))


async def test_documented_default_when_the_exchange_cannot_tell(
    db: Database, catalog: CachedMarketCatalog
) -> None:
    await catalog.refresh(["bybit"])
    async with db.unit_of_work() as session:
        row = await symbol_filters.get_symbol_filter(session, "bybit", BTC)
        assert row is not None
        row.leverage_tiers, row.max_leverage = None, None
    assert await catalog.max_leverage("bybit", BTC, Decimal(100)) == 100  # Bybit's documented maximum


async def test_delisted_then_relisted(sim: SimulatorServer, db: Database, catalog: CachedMarketCatalog) -> None:
    await catalog.refresh()
    for exchange in EXCHANGES:
        sim.engine.delist(exchange, BTC)
    summaries = await catalog.refresh()
    assert {s.exchange: s.delisted for s in summaries} == {e: [BTC] for e in EXCHANGES}
    for exchange in EXCHANGES:
        with pytest.raises(ExchangeError, match=f"{BTC} is delisted on {exchange}"):
            await catalog.rules(exchange, BTC)
    async with db.unit_of_work() as session:
        marked = (await symbol_filters.get_symbol_filter(session, "bybit", BTC)).delisted_at  # type: ignore[union-attr]
    assert marked is not None
    assert [s.delisted for s in await catalog.refresh(["bybit"])] == [[]]  # still gone: not counted again
    async with db.unit_of_work() as session:
        assert (await symbol_filters.get_symbol_filter(session, "bybit", BTC)).delisted_at == marked  # type: ignore[union-attr]

    sim.engine.delist("bybit", BTC, listed=True)
    [summary] = await catalog.refresh(["bybit"])
    assert summary.relisted == [BTC]
    assert (await catalog.rules("bybit", BTC)).symbol == BTC


async def test_unknown_symbol_is_not_stored(db: Database, catalog: CachedMarketCatalog) -> None:
    with pytest.raises(ExchangeError) as raised:
        await catalog.rules("bybit", "NOPE/USDT:USDT")
    assert raised.value.kind == "unknown_symbol"
    async with db.unit_of_work() as session:
        assert await symbol_filters.count_symbol_filters(session, "bybit") == 0


async def test_one_failing_exchange_does_not_stop_the_others(
    sim: SimulatorServer, catalog: CachedMarketCatalog
) -> None:
    sim.faults.add(action="error", exchange="mexc", status=403, body="forbidden", times=None)
    summaries = {s.exchange: s for s in await catalog.refresh()}
    assert summaries["mexc"].error is not None and not summaries["mexc"].ok
    assert all(summaries[e].ok and len(summaries[e].added) == 3 for e in ("binanceusdm", "bybit", "bingx"))


@pytest.mark.parametrize("scenario", [generated_scenario(500)], ids=["500-symbols"])
async def test_refresh_of_500_symbols_per_exchange_is_fast(catalog: CachedMarketCatalog) -> None:
    started = time.perf_counter()
    summaries = await catalog.refresh()
    elapsed = time.perf_counter() - started
    assert [(s.error, s.listed, len(s.added)) for s in summaries] == [(None, 500, 500)] * 4
    assert elapsed < 10, f"refreshing 4 × 500 symbols took {elapsed:.1f} s"
