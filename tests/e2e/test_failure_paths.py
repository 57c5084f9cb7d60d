"""What happens when things go wrong mid-flight: shutdown during an open, lost and unknown orders, netting."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from e2e_harness import ORDER_PATHS

from arbitrage.domain import OrderPurpose, Side
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.services import order_lookup
from arbitrage.simulator.errors import ErrorKind

BTC = "BTC/USDT:USDT"


def flat(sim, exchange: str, symbol: str = BTC) -> bool:
    venue = sim.engine.venue(exchange)
    return venue.position_views(venue.default_account(), symbol) == []


@pytest.fixture
def short_lookups(monkeypatch):
    """Lookups that keep failing give up 1 s after the order's window closed instead of 30, to keep the suite fast."""
    monkeypatch.setattr(order_lookup, "LOOKUP_DEADLINE_SECONDS", 1.0)


async def test_sigterm_during_opening_finishes_the_open_and_a_restart_completes(sim, harness_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    harness = await harness_factory(url)
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    sim.faults.add(action="latency", exchange="binanceusdm", method="POST", path=ORDER_PATHS["binanceusdm"],
                   latency_ms=1500)
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=6)
    await harness.start()
    while not harness.requests("binanceusdm", ORDER_PATHS["binanceusdm"]):  # the hedge order is on the wire
        await asyncio.sleep(0.01)
    await harness.stop()  # SIGTERM equivalent while the hedge order is in flight

    restarted = await harness_factory(url)
    story = await restarted.story(subscription_id)
    assert story.subscription.status is Status.OPEN, "the in-flight open finished and was stored"
    assert [o.status for o in story.orders] == [OrderStatus.FILLED, OrderStatus.FILLED]
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    assert flat(sim, "bybit") and flat(sim, "binanceusdm")


async def test_acknowledged_order_that_cannot_be_looked_up_is_unwound_from_the_position(
    sim, harness_factory, tmp_path, short_lookups
):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("binanceusdm", BTC, rate=Decimal("0.0004"))
    # Bybit accepts every order (returns an order id), but neither a fill read-back nor any lookup finds one.
    sim.faults.add(action="error", exchange="bybit", method="GET", path="/v5/order/realtime",
                   error_kind=ErrorKind.ORDER_NOT_FOUND, times=None)
    subscription_id, _ = await harness.subscribe("binanceusdm", "bybit", Side.SHORT)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id], timeout=40) == {subscription_id: Status.ERROR}
    story = await harness.story(subscription_id)
    assert "acknowledged as" in story.subscription.error_message
    assert "primary leg and hedge leg unwound" in story.subscription.error_message
    hedge_open = next(o for o in story.orders if o.exchange == "bybit" and o.purpose is OrderPurpose.OPEN)
    assert hedge_open.status is OrderStatus.UNKNOWN
    assert hedge_open.exchange_order_id, "the acknowledged id is kept so that recovery can look the order up by it"
    unwinds = {o.exchange: o.status for o in story.orders if o.purpose is OrderPurpose.UNWIND}
    # The bybit unwind cannot be looked up either: its row stays UNKNOWN, and the position read again proves it.
    assert unwinds == {"binanceusdm": OrderStatus.FILLED, "bybit": OrderStatus.UNKNOWN}
    assert flat(sim, "bybit") and flat(sim, "binanceusdm")


async def test_order_that_never_arrived_while_lookups_fail_unwinds_the_filled_leg(
    sim, harness_factory, tmp_path, short_lookups
):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("binanceusdm", BTC, rate=Decimal("0.0004"))
    sim.faults.add(action="drop", exchange="bybit", method="POST", path=ORDER_PATHS["bybit"])
    sim.faults.add(action="http_5xx", exchange="bybit", method="GET", path="/v5/order/realtime", times=None)
    subscription_id, _ = await harness.subscribe("binanceusdm", "bybit", Side.SHORT)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id], timeout=40) == {subscription_id: Status.ERROR}
    story = await harness.story(subscription_id)
    assert "hedge order failed" in story.subscription.error_message
    assert "primary leg unwound" in story.subscription.error_message
    hedge_open = next(o for o in story.orders if o.exchange == "bybit")
    assert hedge_open.status is OrderStatus.UNKNOWN
    assert flat(sim, "bybit") and flat(sim, "binanceusdm")


async def test_opposite_sides_on_one_one_way_account_are_refused_before_anything_is_sent(
    sim, harness_factory, tmp_path
):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    first, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=4.5)
    second, _ = await harness.subscribe("binanceusdm", "bybit", Side.SHORT, funding_in=4.5)  # bybit LONG
    await harness.start()
    assert await harness.wait_until_finished([first, second]) == {first: Status.COMPLETED, second: Status.ERROR}
    story = await harness.story(second)
    assert story.subscription.error_message.startswith(f"conflicts with subscription {first}")
    assert story.orders == []


async def test_stop_before_the_trigger_releases_the_recorded_orders_and_a_restart_trades(sim, harness_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    harness = await harness_factory(url, leverage_sync_ahead_seconds=4)
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=9)
    await harness.start()
    while "opening" not in (await harness.story(subscription_id)).event_names():
        await asyncio.sleep(0.02)
    await harness.stop()  # clean shutdown while waiting for the trigger

    restarted = await harness_factory(url)
    story = await restarted.story(subscription_id)
    assert story.subscription.status is Status.SCHEDULED, "released: nothing was sent"
    assert story.events[-1].event == "released"
    assert [(o.status, o.error_message) for o in story.orders] == [
        (OrderStatus.FAILED, "not sent: the daemon stopped before the trigger")
    ] * 2
    assert harness.requests("bybit", ORDER_PATHS["bybit"]) == [], "nothing reached an exchange"
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    opens = [o for o in (await restarted.story(subscription_id)).orders if o.purpose is OrderPurpose.OPEN]
    assert [o.client_order_id[-3:] for o in opens] == ["PO1", "HO1", "PO2", "HO2"], "no client id is reused"
    assert [o.status for o in opens[2:]] == [OrderStatus.FILLED, OrderStatus.FILLED]


async def _until_orders_recorded(harness, subscription_id: int) -> None:
    while "opening" not in (await harness.story(subscription_id)).event_names():
        await asyncio.sleep(0.02)


async def test_a_row_changed_by_sql_before_the_trigger_sends_nothing(sim, harness_factory, tmp_path):
    from sqlalchemy import update

    from arbitrage.db.models import Subscription

    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", leverage_sync_ahead_seconds=3)
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    subscription_id, funding_time = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=6)
    await harness.start()
    await _until_orders_recorded(harness, subscription_id)
    async with harness.db.unit_of_work() as session:  # an operator's UPDATE in psql
        await session.execute(update(Subscription).where(Subscription.id == subscription_id)
                              .values(status=Status.CANCELLED))
    await sim.engine.wait_for_settlement("bybit", BTC, int(funding_time.timestamp() * 1000), timeout=10)
    story = await harness.story(subscription_id)
    assert story.subscription.status is Status.CANCELLED
    assert {o.error_message for o in story.orders} == {
        "not sent: the subscription was changed to CANCELLED before the trigger"}
    for exchange in ("bybit", "binanceusdm"):
        assert harness.requests(exchange, ORDER_PATHS[exchange]) == [], "nothing may reach an exchange"


async def test_a_crash_between_preparation_and_the_trigger_trades_after_the_restart(sim, harness_factory, tmp_path):
    from test_crash_recovery import crash

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    harness = await harness_factory(url, leverage_sync_ahead_seconds=4)
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=9)
    await harness.start()
    await _until_orders_recorded(harness, subscription_id)
    await crash(harness)
    restarted = await harness_factory(url)
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    opens = [o for o in (await restarted.story(subscription_id)).orders if o.purpose is OrderPurpose.OPEN]
    assert [(o.client_order_id[-3:], o.status) for o in opens] == [
        ("PO1", OrderStatus.FAILED), ("HO1", OrderStatus.FAILED), ("PO2", OrderStatus.FILLED),
        ("HO2", OrderStatus.FILLED)]
    assert flat(sim, "bybit") and flat(sim, "binanceusdm")


async def test_when_the_orders_cannot_be_recorded_nothing_is_sent(sim, harness_factory, tmp_path, monkeypatch):
    """The order rows and OPENING are one transaction ahead of the trigger: if it fails, nothing goes out."""
    from sqlalchemy.exc import OperationalError

    from arbitrage.db import repository

    real_transition = repository.transition

    async def failing(session, subscription, to_status, **kwargs):
        if to_status is Status.OPENING:
            raise OperationalError("UPDATE subscriptions", {}, Exception("database is locked"))
        return await real_transition(session, subscription, to_status, **kwargs)

    monkeypatch.setattr(repository, "transition", failing)
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=5)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
    story = await harness.story(subscription_id)
    assert story.subscription.error_message.startswith("internal error: OperationalError")
    assert story.orders == [], "the rows rolled back with OPENING"
    for exchange in ("bybit", "binanceusdm"):
        assert harness.requests(exchange, ORDER_PATHS[exchange]) == [], "nothing may reach an exchange"
