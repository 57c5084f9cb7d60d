"""Auto-subscribe against the simulator: a scripted opportunity source (the scanner's signature), subscribe's
review over real ccxt, the rows and decisions it writes, and the daemon trading what it created."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from e2e_harness import DaemonHarness

from arbitrage.daemon import AUTO_JOB_ID, Daemon
from arbitrage.db import auto_decisions
from arbitrage.db import repository as repo
from arbitrage.db.models import AutoOutcome, CreatedBy
from arbitrage.domain import Side
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.status import Status
from arbitrage.exchanges.factory import build_connectors
from arbitrage.services.auto_subscribe import AutoSubscriber

BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
AUTO = {"enabled": True, "scan_ahead_seconds": 3600, "min_net_bps": "2", "max_per_instant": 4,
        "max_per_exchange": 2, "max_per_symbol": 1, "max_notional_per_exchange": "3000"}


def instant(sim: Any, seconds: float, legs: list[tuple[str, str, str]]) -> datetime:
    """Sets each (exchange, symbol, rate)'s next funding `seconds` from now (a whole second) and returns it."""
    funding_ms = sim.engine.now() + int(seconds * 1000)
    funding_ms -= funding_ms % 1000
    for exchange, symbol, rate in legs:
        sim.engine.set_funding(exchange, symbol, rate=Decimal(rate), next_funding_time=funding_ms)
    return datetime.fromtimestamp(funding_ms / 1000, UTC)


def opportunity(symbol: str, primary: str, hedge: str, side: Side, funding_time: datetime, *, funding: str,
                blocked: str | None = None) -> Opportunity:
    return Opportunity(
        symbol=symbol, primary=primary, hedge=hedge, side=side, funding_time=funding_time,
        notional_usdt=Decimal(1000), primary_rate=Decimal("0.001"), hedge_rate=Decimal("0.0001"),
        primary_interval_hours=8, hedge_interval_hours=8, funding_usdt=Decimal(funding),
        fees_usdt=Decimal("0.4"), spread_usdt=Decimal("0.1"), blocked_reason=blocked,
    )


class ScriptedSource:
    """Stands in for `scan_opportunities(connectors, markets, settings, *, notional_usdt, exchanges=None)`."""

    def __init__(self, opportunities: list[Opportunity]) -> None:
        self.opportunities = opportunities
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, connectors: Any, markets: Any, settings: Any, *, notional_usdt: Decimal,
                       exchanges: list[str] | None = None) -> list[Opportunity]:
        self.calls.append({"connectors": sorted(connectors.connectors), "notional_usdt": notional_usdt,
                           "exchanges": exchanges})
        return self.opportunities


async def test_creates_what_the_rules_allow_through_subscribes_review(sim, harness_factory, migrated_database_url):
    harness = await harness_factory(migrated_database_url, auto=AUTO)
    at = instant(sim, 60, [("bybit", BTC, "0.001"), ("binanceusdm", BTC, "0.0001"),
                           ("bybit", ETH, "-0.0005"), ("bingx", ETH, "0.0001")])
    later = at + timedelta(hours=8)
    source = ScriptedSource([
        opportunity(BTC, "bybit", "binanceusdm", Side.SHORT, at, funding="0.9"),  # net 0.4 USDT, 4 bps
        opportunity(BTC, "binanceusdm", "bybit", Side.LONG, at, funding="0.85"),  # the same legs, turned round
        opportunity(ETH, "bybit", "bingx", Side.SHORT, at, funding="0.8"),  # short pays on bybit now: refused
        opportunity(SOL, "mexc", "bingx", Side.LONG, at, funding="0.6"),  # 1 bps
        opportunity(BTC, "bingx", "mexc", Side.LONG, at, funding="0.55", blocked="BTC not listed on mexc"),
        opportunity(ETH, "bybit", "binanceusdm", Side.SHORT, later, funding="5"),  # beyond the scan window
    ])
    connectors = build_connectors(harness.settings)
    try:
        records = await AutoSubscriber(harness.db, connectors, None, harness.settings, source).run()
    finally:
        await connectors.close()

    assert source.calls == [{"connectors": ["binanceusdm", "bingx", "bybit", "mexc"],
                             "notional_usdt": Decimal(1000), "exchanges": None}]
    assert [(r.opportunity.symbol, r.opportunity.primary, r.outcome, r.reasons) for r in records] == [
        (BTC, "bybit", AutoOutcome.CREATED, ()),
        (BTC, "binanceusdm", AutoOutcome.REJECTED, (
            f"already subscribed: {BTC} on binanceusdm and bybit at this instant",
            f"max 1 subscriptions per instant on {BTC} reached")),
        (ETH, "bybit", AutoOutcome.REFUSED, (
            "short pays funding on bybit at the current rate -0.05% (the daemon skips it unless the rate turns by "
            "then); choose the other side, or pass --force",)),
        (SOL, "mexc", AutoOutcome.REJECTED, ("expected net 1 bps is below the minimum 2 bps",)),
        (BTC, "bingx", AutoOutcome.REJECTED, ("blocked: BTC not listed on mexc",
                                              "expected net 0.5 bps is below the minimum 2 bps",
                                              f"max 1 subscriptions per instant on {BTC} reached")),
    ]
    created_id = records[0].subscription_id
    async with harness.db.unit_of_work() as session:
        rows = list(await repo.list_subscriptions(session))
        events = [e.event for e in await repo.events_for(session, created_id)]
        decisions = list(await auto_decisions.decisions_for(session))
    assert len(rows) == 1
    row = rows[0]
    assert (row.id, row.created_by, row.primary_exchange, row.hedge_exchange, row.side, row.funding_time) == (
        created_id, CreatedBy.AUTO, "bybit", "binanceusdm", Side.SHORT, at)
    assert row.amount == Decimal("0.016")  # 1000 USDT at the 60 000 mark, rounded down to the 0.001 step
    # the estimate at the notional subscribed, 960 USDT: 0.96 of the scanner's figures, the same 4 bps
    assert (row.estimate_notional, row.estimate_funding, row.estimate_fees, row.estimate_spread,
            row.estimate_net) == (Decimal(960), Decimal("0.864"), Decimal("0.384"), Decimal("0.096"), Decimal("0.384"))
    assert (row.status, row.leverage, row.lead_seconds) == (Status.SCHEDULED, None, 2)
    assert events == ["created", "auto_subscribed"]
    assert [(d.symbol, d.primary_exchange, d.outcome, d.subscription_id, d.expected_net) for d in decisions] == [
        (BTC, "bybit", AutoOutcome.CREATED, created_id, Decimal("0.4")),  # the scanner's figure, at 1000 USDT
        (BTC, "binanceusdm", AutoOutcome.REJECTED, None, Decimal("0.35")),
        (ETH, "bybit", AutoOutcome.REFUSED, None, Decimal("0.3")),
        (SOL, "mexc", AutoOutcome.REJECTED, None, Decimal("0.1")),
        (BTC, "bingx", AutoOutcome.REJECTED, None, Decimal("0.05")),
    ]
    assert decisions[1].reason == "; ".join(records[1].reasons)


async def test_daemon_scans_at_start_trades_the_auto_row_and_compares_the_estimate(sim, harness_factory,
                                                                                  migrated_database_url):
    harness: DaemonHarness = await harness_factory(migrated_database_url, auto=AUTO)
    at = instant(sim, 4.5, [("bybit", BTC, "0.001"), ("binanceusdm", BTC, "0.0001")])
    source = ScriptedSource([opportunity(BTC, "bybit", "binanceusdm", Side.SHORT, at, funding="0.9")])
    harness.daemon = Daemon(harness.settings, opportunity_source=source)
    harness.task = asyncio.create_task(harness.daemon.run())
    created = await _first_subscription(harness)
    assert harness.daemon.scheduler is not None
    job = harness.daemon.scheduler.scheduler.get_job(AUTO_JOB_ID)
    assert job is not None and job.next_run_time.minute == 0  # then hourly, 3600 s ahead of each whole hour

    statuses = await harness.wait_until_finished([created])
    assert statuses == {created: Status.COMPLETED}
    story = await harness.story(created)
    row = story.subscription
    assert row.created_by is CreatedBy.AUTO
    assert row.price_pnl is not None and row.realized_pnl == row.price_pnl + row.funding_received - row.fees
    completed = story.events[-1]
    assert completed.event == "completed"
    assert completed.details is not None
    assert Decimal(completed.details["estimate_net"]) == row.estimate_net == Decimal("0.384")
    assert Decimal(completed.details["estimate_error"]) == row.realized_pnl - Decimal("0.384")
    assert Decimal(completed.details["price_pnl"]) == row.price_pnl


async def _first_subscription(harness: DaemonHarness, timeout: float = 10) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        async with harness.db.unit_of_work() as session:
            rows = list(await repo.list_subscriptions(session))
        if rows:
            return rows[0].id
        if harness.task is not None and harness.task.done():
            harness.task.result()
        await asyncio.sleep(0.1)
    raise AssertionError("auto-subscribe created nothing")


async def test_a_failing_scan_is_logged_and_creates_nothing(sim, harness_factory, migrated_database_url):
    harness = await harness_factory(migrated_database_url, auto={**AUTO, "exchanges": "bybit,binanceusdm"})
    calls: list[Any] = []

    async def broken(connectors: Any, markets: Any, settings: Any, *, notional_usdt: Decimal,
                     exchanges: list[str] | None = None) -> list[Opportunity]:
        calls.append(exchanges)
        raise RuntimeError("scanner down")

    connectors = build_connectors(harness.settings)
    try:
        assert await AutoSubscriber(harness.db, connectors, None, harness.settings, broken).run() == []
    finally:
        await connectors.close()
    assert calls == [["binanceusdm", "bybit"]]  # the allowed exchanges only
    async with harness.db.unit_of_work() as session:
        assert list(await repo.list_subscriptions(session)) == []
        assert list(await auto_decisions.decisions_for(session)) == []
