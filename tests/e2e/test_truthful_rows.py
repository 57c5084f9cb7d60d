"""Order rows say what the exchange said, also across a crash: a rejection keeps its code and message, and a lone
leg left by a crash is unwound as soon as the window rule proves the other leg absent."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from e2e_harness import ORDER_PATHS
from test_crash_recovery import BTC, HEDGE, PRIMARY, crash, crash_while_opening, eventually, flat, orders_answered

from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.status import OrderStatus, Status


async def test_a_rejection_is_stored_at_once_and_survives_a_crash_with_its_code(sim, harness_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    harness = await harness_factory(url)
    sim.engine.set_funding(PRIMARY, BTC, rate=Decimal("0.0004"))
    sim.faults.add(action="error", error_kind="INSUFFICIENT_MARGIN", exchange=PRIMARY, method="POST",
                   path=ORDER_PATHS[PRIMARY])
    sim.faults.add(action="lost_response", exchange=HEDGE, method="POST", path=ORDER_PATHS[HEDGE],
                   lost_delay_ms=10_000)  # the hedge executes; its answer is held while the daemon dies
    subscription_id, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=5)
    await harness.start()
    await eventually(lambda: orders_answered(sim, PRIMARY, 1) and orders_answered(sim, HEDGE, 1))

    async def primary_row_stored() -> bool:
        orders = (await harness.story(subscription_id)).orders
        return any(o.leg is Leg.PRIMARY and o.status is OrderStatus.REJECTED for o in orders)

    while not await primary_row_stored():
        await asyncio.sleep(0.02)
    await crash(harness)
    primary = next(o for o in (await harness.story(subscription_id)).orders if o.leg is Leg.PRIMARY)
    assert "ab not enough for new order (code 110007)" in primary.error_message, "the exchange's code and message"

    restarted = await harness_factory(url)
    await restarted.start()
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
    story = await restarted.story(subscription_id)
    message = story.subscription.error_message
    assert "rejected: bybit: ab not enough for new order (code 110007)" in message
    assert "never reached" not in message
    by_purpose = {(o.leg, o.purpose): o for o in story.orders}
    assert by_purpose[(Leg.PRIMARY, OrderPurpose.OPEN)].status is OrderStatus.REJECTED
    assert by_purpose[(Leg.HEDGE, OrderPurpose.UNWIND)].status is OrderStatus.FILLED
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)


async def test_a_lone_leg_is_unwound_once_the_entry_deadline_proves_the_other_absent(
    sim, harness_factory, tmp_path
):
    subscription_id, restarted = await crash_while_opening(
        sim, harness_factory, f"sqlite:///{tmp_path / 'db.sqlite'}", hedge_fault="drop")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await restarted.start()
    await eventually(lambda: len(restarted.requests(PRIMARY, ORDER_PATHS[PRIMARY])) >= 2)
    waited = loop.time() - started
    assert await restarted.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
    # The hedge open was bound to execute before the entry deadline (funding − 1 s, already past or close at the
    # restart): its absence is proof 2 s (the index margin) after that, not a whole window after the restart.
    assert waited < 4.5, f"the naked leg waited {waited:.1f} s for its unwind"
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)
