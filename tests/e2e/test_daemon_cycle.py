"""Full funding cycles through the real daemon, ccxt and the simulator; the story is read back from the rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.funding import expected_funding
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.simulator.errors import ErrorKind
from e2e_harness import LEVERAGE_PATHS, ORDER_PATHS

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"

# Every exchange is primary once and hedge once, on both sides. Concurrent subscriptions never share an
# (exchange, symbol): one-way accounts net positions per symbol.
CYCLE = [
    ("binanceusdm", "bybit", Side.SHORT, BTC),
    ("bingx", "mexc", Side.LONG, BTC),
    ("bybit", "bingx", Side.LONG, ETH),
    ("mexc", "binanceusdm", Side.SHORT, ETH),
]


def favourable_rate(side: Side) -> Decimal:
    return Decimal("0.0004") if side is Side.SHORT else Decimal("-0.0004")


async def test_full_cycle_on_every_exchange_as_primary_and_hedge(sim, harness_factory, migrated_database_url):
    harness = await harness_factory(migrated_database_url)
    rates = {}
    for primary, hedge, side, symbol in CYCLE:
        sim.engine.set_funding(primary, symbol, rate=favourable_rate(side))
        sim.engine.set_funding(hedge, symbol, rate=Decimal("0.0001"))
        rates[(primary, symbol)] = favourable_rate(side)
        rates[(hedge, symbol)] = Decimal("0.0001")
    ids = []
    for primary, hedge, side, symbol in CYCLE:
        subscription_id, funding_time = await harness.subscribe(primary, hedge, side, symbol=symbol, funding_in=4.5)
        ids.append(subscription_id)
    await harness.start()
    statuses = await harness.wait_until_finished(ids)
    assert set(statuses.values()) == {Status.COMPLETED}, statuses

    for subscription_id, (primary, hedge, side, symbol) in zip(ids, CYCLE, strict=True):
        story = await harness.story(subscription_id)
        sub = story.subscription
        assert sub.applied_leverage == 3
        opens = [o for o in story.orders if o.purpose is OrderPurpose.OPEN]
        closes = [o for o in story.orders if o.purpose is OrderPurpose.CLOSE]
        assert {o.leg for o in opens} == {Leg.PRIMARY, Leg.HEDGE}
        assert all(o.status is OrderStatus.FILLED and o.filled == Decimal("0.01") for o in opens + closes)
        assert {(o.exchange, o.side) for o in opens} == {
            (primary, side.opening_order_side), (hedge, side.opposite.opening_order_side)
        }

        for exchange in (primary, hedge):
            leverage = harness.requests(exchange, LEVERAGE_PATHS[exchange], symbol)
            orders = harness.requests(exchange, ORDER_PATHS[exchange], symbol)
            assert leverage and len(orders) == 2, (exchange, leverage, orders)
            assert max(r.received_ns for r in leverage) < min(r.received_ns for r in orders), "leverage first"
        open_ns = [
            min(r.received_ns for r in harness.requests(exchange, ORDER_PATHS[exchange], symbol))
            for exchange in (primary, hedge)
        ]
        assert abs(open_ns[0] - open_ns[1]) < 100_000_000, "both legs must reach the exchanges together"
        funding_ns = int(sub.funding_time.timestamp() * 1e9)
        assert max(open_ns) < funding_ns, "opened before the funding time"
        close_ns = [
            max(r.received_ns for r in harness.requests(exchange, ORDER_PATHS[exchange], symbol))
            for exchange in (primary, hedge)
        ]
        assert min(close_ns) > funding_ns, "held across the funding time"

        payments = {p.exchange: p.amount for p in story.payments}
        assert set(payments) == {primary, hedge}
        for exchange, leg_side in ((primary, side), (hedge, side.opposite)):
            price = sim.engine.venue(exchange).instrument(symbol).mark_price
            expected = expected_funding(leg_side, Decimal("0.01"), price, rates[(exchange, symbol)])
            assert payments[exchange] == pytest.approx(expected, abs=Decimal("0.0001")), exchange
        assert payments[primary] > 0, "the primary leg earns the funding"

        assert sub.funding_received == sum(payments.values())
        assert sub.fees == sum(o.fee for o in story.orders)
        assert sub.fees > 0
        assert sub.realized_pnl is not None
        for exchange in (primary, hedge):
            venue = sim.engine.venue(exchange)
            assert venue.position_views(venue.default_account(), symbol) == [], f"{exchange} must be flat"
        assert story.event_names()[:3] == ["created", "triggered", "leverage_synced"]
        synced = next(e for e in story.events if e.event == "leverage_synced")
        assert Decimal(synced.details["net_rate"]) == Decimal("0.0004") - Decimal("0.0001") * (
            1 if side is Side.SHORT else -1), "the primary's receipt minus what the opposite hedge pays"
        assert "funding_confirmed" in story.event_names()
        assert story.event_names()[-1] == "completed"


@pytest.mark.parametrize("failing_leg", ["primary", "hedge"])
async def test_leverage_failure_stops_before_any_order(sim, harness_factory, tmp_path, failing_leg):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    primary, hedge = "bybit", "binanceusdm"
    failing = primary if failing_leg == "primary" else hedge
    sim.engine.set_funding(primary, BTC, rate=Decimal("0.0004"))
    sim.faults.add(action="error", exchange=failing, method="POST", path=LEVERAGE_PATHS[failing],
                   error_kind=ErrorKind.LEVERAGE_OUT_OF_RANGE, times=None)
    subscription_id, _ = await harness.subscribe(primary, hedge, Side.SHORT)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
    story = await harness.story(subscription_id)
    assert story.subscription.error_message.startswith(f"Leverage sync failed: {failing}:")
    assert story.orders == []
    for exchange in (primary, hedge):
        assert harness.requests(exchange, ORDER_PATHS[exchange]) == [], "no order may reach an exchange"


async def test_rejected_hedge_unwinds_the_primary(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    primary, hedge = "binanceusdm", "bingx"
    sim.engine.set_funding(primary, BTC, rate=Decimal("0.0004"))
    sim.faults.add(action="error", exchange=hedge, method="POST", path=ORDER_PATHS[hedge],
                   error_kind=ErrorKind.INSUFFICIENT_MARGIN, times=None)
    subscription_id, _ = await harness.subscribe(primary, hedge, Side.SHORT)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
    story = await harness.story(subscription_id)
    assert "hedge order failed" in story.subscription.error_message
    assert "primary leg unwound" in story.subscription.error_message
    unwind = [o for o in story.orders if o.purpose is OrderPurpose.UNWIND]
    assert len(unwind) == 1 and unwind[0].exchange == primary and unwind[0].status is OrderStatus.FILLED
    venue = sim.engine.venue(primary)
    assert venue.position_views(venue.default_account(), BTC) == []


async def test_funding_against_the_side_is_skipped_without_orders(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", BTC, rate=Decimal("-0.0003"))  # shorts would pay
    subscription_id, _ = await harness.subscribe("bybit", "mexc", Side.SHORT)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.SKIPPED}
    story = await harness.story(subscription_id)
    assert "funding rate -0.0003 on bybit does not pay a SHORT position" in story.subscription.error_message
    for exchange in ("bybit", "mexc"):
        assert harness.requests(exchange, ORDER_PATHS[exchange]) == []


async def test_missed_trigger_is_skipped(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=1.2)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.SKIPPED}
    story = await harness.story(subscription_id)
    assert story.events[-1].event == "missed"
    assert story.subscription.error_message.startswith("missed: the entry deadline")
    assert story.orders == []


async def test_subscription_added_while_running_is_picked_up(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("mexc", ETH, rate=Decimal("-0.0004"))
    await harness.start()
    await harness.wait_until_finished([])
    subscription_id, _ = await harness.subscribe("mexc", "bybit", Side.LONG, symbol=ETH, funding_in=4.5)
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}


async def test_cancel_before_trigger_means_no_activity(sim, harness_factory, tmp_path):
    from arbitrage.db import repository as repo

    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bingx", BTC, rate=Decimal("0.0004"))
    subscription_id, funding_time = await harness.subscribe("bingx", "bybit", Side.SHORT, funding_in=5)
    await harness.start()
    async with harness.db.unit_of_work() as session:
        subscription = await repo.require_subscription(session, subscription_id)
        await repo.transition(session, subscription, Status.CANCELLED, event="cancelled", message="by test")
    # Past the trigger and the funding time: still nothing may have been sent.
    await sim.engine.wait_for_settlement("bingx", BTC, int(funding_time.timestamp() * 1000), timeout=10)
    assert await harness.statuses([subscription_id]) == {subscription_id: Status.CANCELLED}
    for exchange in ("bingx", "bybit"):
        assert harness.requests(exchange, LEVERAGE_PATHS[exchange], BTC) == []
        assert harness.requests(exchange, ORDER_PATHS[exchange], BTC) == []


async def test_two_subscriptions_sharing_a_pair_both_complete(sim, harness_factory, tmp_path):
    """One-way accounts net both subscriptions' positions; neither may mistake the other's exposure for its own."""
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    first, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, amount="0.01", funding_in=4.5)
    second, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, amount="0.02", funding_in=4.5)
    await harness.start()
    assert await harness.wait_until_finished([first, second]) == {first: Status.COMPLETED, second: Status.COMPLETED}
    for exchange in ("bybit", "binanceusdm"):
        venue = sim.engine.venue(exchange)
        assert venue.position_views(venue.default_account(), BTC) == []
    payments = [(await harness.story(i)).payments for i in (first, second)]
    primary_amounts = [next(p.amount for p in story if p.exchange == "bybit") for story in payments]
    assert primary_amounts[1] == 2 * primary_amounts[0], "each subscription records its own share of the payment"


async def test_a_pair_whose_hedge_pays_more_than_the_primary_earns_is_flagged(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0001"))  # the short primary earns 0.01 %
    sim.engine.set_funding("binanceusdm", BTC, rate=Decimal("0.0005"))  # the long hedge pays 0.05 %
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    story = await harness.story(subscription_id)
    [warning] = [e for e in story.events if e.event == "funding_net_negative"]
    assert "net rate -0.0004" in warning.message
    assert story.subscription.funding_received < 0
