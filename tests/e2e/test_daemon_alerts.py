"""The daemon's alerts: a cycle against the simulator that goes wrong reaches a local webhook through Apprise, and a
webhook that never answers changes nothing about when the orders leave."""

from __future__ import annotations

from decimal import Decimal

from alert_receiver import TOKEN, alert_receiver
from e2e_harness import ORDER_PATHS

from arbitrage.domain import OrderPurpose, Side
from arbitrage.domain.status import Status
from arbitrage.simulator.errors import ErrorKind

BTC = "BTC/USDT:USDT"


async def test_a_rejected_hedge_ends_error_and_the_alert_says_what_traded(sim, harness_factory, tmp_path):
    async with alert_receiver() as receiver:
        harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", alert_urls=receiver.url())
        primary, hedge = "binanceusdm", "bingx"
        sim.engine.set_funding(primary, BTC, rate=Decimal("0.0004"))
        sim.faults.add(action="error", exchange=hedge, method="POST", path=ORDER_PATHS[hedge],
                       error_kind=ErrorKind.INSUFFICIENT_MARGIN, times=None)
        subscription_id, _ = await harness.subscribe(primary, hedge, Side.SHORT)
        await harness.start()
        assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
        [alert] = await receiver.wait_for(1)
        await harness.stop()

    story = await harness.story(subscription_id)
    assert alert["title"] == f"arbitrage: subscription {subscription_id} ERROR" and alert["type"] == "failure"
    body = alert["message"]
    assert f"subscription {subscription_id}: OPENING -> ERROR" in body
    assert f"primary: binanceusdm {BTC} short 0.01" in body and f"hedge: bingx {BTC} long 0.01" in body
    assert f"reason: {story.subscription.error_message}" in body and "hedge order failed" in body
    assert "order open primary: binanceusdm sell 0.01 FILLED, filled 0.01" in body
    assert "order unwind primary: binanceusdm buy 0.01 FILLED, filled 0.01" in body
    assert "order open hedge: bingx buy 0.01 REJECTED, filled 0" in body
    assert len(receiver.received) == 1, "only the final status alerts with the default ERROR,SKIPPED"


async def test_a_webhook_that_never_answers_does_not_delay_the_orders(sim, harness_factory, tmp_path):
    async with alert_receiver() as receiver:
        receiver.hang = True
        harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", alert_urls=receiver.url(),
                                        alert_statuses="ERROR,SKIPPED,COMPLETED", alert_timeout_seconds=0.5)
        # A failed first subscription's alert is on the wire, unanswered, while the second one trades.
        sim.engine.set_funding("bybit", BTC, rate=Decimal("-0.0004"))  # against a short: SKIPPED at preparation
        skipped, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=3)
        sim.engine.set_funding("binanceusdm", BTC, rate=Decimal("0.0004"))
        traded, funding_time = await harness.subscribe("binanceusdm", "bybit", Side.SHORT, symbol="ETH/USDT:USDT",
                                                       funding_in=5)
        await harness.start()
        statuses = await harness.wait_until_finished([skipped, traded], timeout=40)
        assert receiver.attempts >= 1 and receiver.received == []
        await harness.stop()

    assert statuses == {skipped: Status.SKIPPED, traded: Status.COMPLETED}
    story = await harness.story(traded)
    opens = [order for order in story.orders if order.purpose is OrderPurpose.OPEN]
    trigger = funding_time.timestamp() - story.subscription.lead_seconds
    for order in opens:
        lateness = order.sent_at.timestamp() - trigger
        assert lateness < 0.25, f"{order.exchange} open left {lateness:.3f} s after its trigger"
    assert TOKEN not in str(story.events)
