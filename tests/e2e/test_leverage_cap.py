"""Leverage resolution through the real daemon: the cached tiers cap a request, 'max' takes what both allow."""

from __future__ import annotations

from decimal import Decimal

from arbitrage.domain import Side
from arbitrage.domain.status import Status
from e2e_harness import LEVERAGE_PATHS

BTC = "BTC/USDT:USDT"


async def test_request_above_a_tier_is_capped_and_recorded(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.update_instrument("bybit", BTC, tiers=[[0, 2_000_000, 20, "0.01"], [2_000_000, 4_000_000, 10, "0.02"]])
    sim.engine.set_funding("binanceusdm", BTC, rate=Decimal("0.0004"))
    capped, _ = await harness.subscribe("binanceusdm", "bybit", Side.SHORT, leverage=100, funding_in=4.5)
    await harness.start()
    assert await harness.wait_until_finished([capped]) == {capped: Status.COMPLETED}

    story = await harness.story(capped)
    assert story.subscription.leverage == 100 and story.subscription.applied_leverage == 20
    [event] = [e for e in story.events if e.event == "leverage_capped"]
    assert event.message == "leverage capped from 100 to 20 (limit on bybit)"
    assert event.details == {"requested": 100, "applied": 20}
    for exchange in ("binanceusdm", "bybit"):
        [request] = harness.requests(exchange, LEVERAGE_PATHS[exchange], BTC)
        sent = request.params.get("leverage") or request.params.get("buyLeverage")
        assert str(sent) == "20", (exchange, request.params)


async def test_max_takes_the_highest_leverage_both_allow(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.update_instrument("bybit", BTC, tiers=[[0, 2_000_000, 40, "0.01"]])
    sim.engine.set_funding("bingx", BTC, rate=Decimal("-0.0004"))
    subscription_id, _ = await harness.subscribe("bingx", "bybit", Side.LONG, leverage="max", funding_in=4.5)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    story = await harness.story(subscription_id)
    assert story.subscription.leverage == "max" and story.subscription.applied_leverage == 40
    assert "leverage_capped" not in story.event_names()
