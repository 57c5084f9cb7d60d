"""A daemon that dies mid-order (no clean shutdown: nothing after the crash point is stored) and a new daemon on the
same database that looks the orders up on the exchanges and reconciles: resumed, unwound, re-closed or flagged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest
from e2e_harness import ORDER_PATHS, DaemonHarness

from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.services import order_lookup

BTC = "BTC/USDT:USDT"
PRIMARY, HEDGE = "bybit", "binanceusdm"  # primary SHORT on bybit, hedge LONG on binanceusdm
LOOKUP_PATHS = {"bybit": "/v5/order/realtime", "binanceusdm": "/fapi/v1/order"}


@pytest.fixture
def short_lookups(monkeypatch):
    """Lookups that keep failing give up 1 s after the order's window closed instead of 30, to keep the suite fast."""
    monkeypatch.setattr(order_lookup, "LOOKUP_DEADLINE_SECONDS", 1.0)


def flat(sim, exchange: str) -> bool:
    venue = sim.engine.venue(exchange)
    return venue.position_views(venue.default_account(), BTC) == []


async def eventually(condition: Callable[[], bool], timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def orders_answered(sim, exchange: str, count: int) -> bool:
    """The simulator has received `count` order requests on `exchange` and dealt with each (executed or dropped)."""
    records = sim.requests.query(exchange=exchange, path=ORDER_PATHS[exchange], method="POST")
    return len(records) >= count and all(record.outcome != "pending" for record in records)


async def crash(harness: DaemonHarness) -> None:
    """Kill the daemon as SIGKILL would: the scheduler stops and every pipeline dies where it stands, so no
    outcome of an order in flight is stored (the exchange still executes what it received)."""
    assert harness.daemon is not None and harness.daemon.scheduler is not None and harness.task is not None
    scheduler = harness.daemon.scheduler
    scheduler.scheduler.shutdown(wait=False)
    tasks = [*scheduler.running.values(), harness.task]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    harness.task = None  # nothing left to stop cleanly


async def crash_while_opening(sim, harness_factory, url: str, *, hedge_fault: str) -> tuple[int, DaemonHarness]:
    """The primary order executes but its reply is held back; the hedge order executes (`latency`) or is dropped
    unprocessed (`drop`). The daemon dies while waiting for the primary's reply: its row is still PENDING."""
    harness = await harness_factory(url)
    sim.engine.set_funding(PRIMARY, BTC, rate=Decimal("0.0004"))
    sim.faults.add(action="lost_response", exchange=PRIMARY, method="POST", path=ORDER_PATHS[PRIMARY],
                   lost_delay_ms=10_000)
    sim.faults.add(action=hedge_fault, exchange=HEDGE, method="POST", path=ORDER_PATHS[HEDGE], latency_ms=1)
    subscription_id, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=5)
    await harness.start()
    await eventually(lambda: orders_answered(sim, PRIMARY, 1) and orders_answered(sim, HEDGE, 1))
    await crash(harness)
    story = await harness.story(subscription_id)
    # OPENING is committed while the orders are in flight, so a crash can come before or after that commit.
    assert story.subscription.status in (Status.SYNCING_LEVERAGE, Status.OPENING)
    # Each leg's outcome is stored the moment it is known: a hedge that filled may be on its row already.
    primary, hedge = story.orders
    assert primary.status is OrderStatus.PENDING, "crashed mid-open"
    assert hedge.status in ((OrderStatus.PENDING, OrderStatus.FILLED) if hedge_fault == "latency"
                            else (OrderStatus.PENDING,))
    return subscription_id, await harness_factory(url)


async def test_crash_while_opening_with_both_orders_executed_resumes_open_and_completes(
    sim, harness_factory, tmp_path
):
    subscription_id, restarted = await crash_while_opening(
        sim, harness_factory, f"sqlite:///{tmp_path / 'db.sqlite'}", hedge_fault="latency")
    assert not flat(sim, PRIMARY) and not flat(sim, HEDGE), "both orders executed before the crash"
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}

    story = await restarted.story(subscription_id)
    [resumed] = [e for e in story.events if e.event == "recovered" and e.to_status is not None]
    assert (resumed.from_status, resumed.to_status) == (Status.OPENING, Status.OPEN)
    [found] = [e for e in story.events if e.event == "recovered" and e.to_status is None]
    assert {info["lookup"] for info in found.details["orders"].values()} == {"FOUND"}
    opens = [o for o in story.orders if o.purpose is OrderPurpose.OPEN]
    assert all(o.status is OrderStatus.FILLED and o.filled == Decimal("0.01") and o.sent_at for o in opens)
    assert all(o.exchange_order_id and o.fee for o in opens), "the rows carry what the exchanges reported"
    closes = [o for o in story.orders if o.purpose is OrderPurpose.CLOSE]
    assert {(o.leg, o.status) for o in closes} == {(Leg.PRIMARY, OrderStatus.FILLED), (Leg.HEDGE, OrderStatus.FILLED)}
    assert any(p.exchange == PRIMARY and p.amount > 0 for p in story.payments), "the held position earned funding"
    assert story.event_names()[-1] == "completed"
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)


async def test_crash_while_opening_with_one_order_lost_unwinds_the_filled_leg(sim, harness_factory, tmp_path):
    subscription_id, restarted = await crash_while_opening(
        sim, harness_factory, f"sqlite:///{tmp_path / 'db.sqlite'}", hedge_fault="drop")
    assert not flat(sim, PRIMARY) and flat(sim, HEDGE), "only the primary order reached its exchange"
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}

    story = await restarted.story(subscription_id)
    message = story.subscription.error_message
    assert "only the primary leg filled" in message and "never reached the exchange" in message
    assert message.endswith("primary leg unwound")
    by_purpose = {(o.leg, o.purpose): o for o in story.orders}
    assert by_purpose[(Leg.HEDGE, OrderPurpose.OPEN)].status is OrderStatus.FAILED
    unwind = by_purpose[(Leg.PRIMARY, OrderPurpose.UNWIND)]
    assert (unwind.status, unwind.filled, unwind.client_order_id[-3:]) == (OrderStatus.FILLED, Decimal("0.01"), "PU1")
    assert story.events[-1].event == "recovered" and story.events[-1].to_status == Status.ERROR
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)


async def test_crash_while_closing_reconciles_the_closes_and_resends_the_lost_one(sim, harness_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    harness = await harness_factory(url)
    sim.engine.set_funding(PRIMARY, BTC, rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=4)
    await harness.start()
    await eventually(lambda: orders_answered(sim, PRIMARY, 1) and orders_answered(sim, HEDGE, 1))
    while (await harness.statuses([subscription_id]))[subscription_id] is not Status.OPEN:
        await asyncio.sleep(0.02)
    # The closes: the primary's executes with its reply held back, the hedge's never reaches the exchange.
    sim.faults.add(action="lost_response", exchange=PRIMARY, method="POST", path=ORDER_PATHS[PRIMARY],
                   lost_delay_ms=10_000)
    sim.faults.add(action="drop", exchange=HEDGE, method="POST", path=ORDER_PATHS[HEDGE])
    await eventually(lambda: orders_answered(sim, PRIMARY, 2) and orders_answered(sim, HEDGE, 2))
    await crash(harness)
    story = await harness.story(subscription_id)
    assert story.subscription.status is Status.CLOSING
    assert [o.status for o in story.orders if o.purpose is OrderPurpose.CLOSE] == [OrderStatus.PENDING] * 2
    assert flat(sim, PRIMARY) and not flat(sim, HEDGE)

    restarted = await harness_factory(url)
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    story = await restarted.story(subscription_id)
    closes = {o.client_order_id[-3:]: o for o in story.orders if o.purpose is OrderPurpose.CLOSE}
    assert {cid: (o.status, o.filled) for cid, o in closes.items()} == {
        "PC1": (OrderStatus.FILLED, Decimal("0.01")),  # executed before the crash, found by its id
        "HC1": (OrderStatus.FAILED, Decimal("0")),  # never arrived
        "HC2": (OrderStatus.FILLED, Decimal("0.01")),  # sent again under a new id
    }
    recovered = [e for e in story.events if e.event == "recovered"]
    assert "the hedge leg is still open" in recovered[-1].message and "hedge leg closed" in recovered[-1].message
    assert story.event_names()[-1] == "completed"
    assert story.subscription.realized_pnl is not None
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)


async def test_lookups_failing_at_recovery_need_attention_and_send_nothing(
    sim, harness_factory, tmp_path, short_lookups
):
    # The primary's lookup is the one that fails: its row is PENDING at every crash point, while the hedge's reply
    # may already have been stored before the crash, and then the hedge needs no lookup at all.
    subscription_id, restarted = await crash_while_opening(
        sim, harness_factory, f"sqlite:///{tmp_path / 'db.sqlite'}", hedge_fault="latency")
    sim.faults.add(action="http_5xx", exchange=PRIMARY, method="GET", path=LOOKUP_PATHS[PRIMARY], times=None)
    sent_before = len(sim.requests.query(method="POST", path="*order*"))
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.NEEDS_ATTENTION}

    story = await restarted.story(subscription_id)
    primary_open = next(o for o in story.orders if o.leg is Leg.PRIMARY)
    assert f"could not look up order {primary_open.client_order_id} on {PRIMARY}" in story.subscription.error_message
    assert primary_open.status is OrderStatus.UNKNOWN
    assert len(story.orders) == 2, "no order is sent on half a picture"
    assert len(sim.requests.query(method="POST", path="*order*")) == sent_before
    assert not flat(sim, PRIMARY) and not flat(sim, HEDGE), "the pair stays hedged for a human to close"
