"""The daemon as users run it with ARBITRAGE_HTTP_PORT: one funding cycle against the simulator moves the metrics,
scraped from its own listener while it runs, and /healthz says 200."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from arbitrage.domain import Side
from arbitrage.domain.status import Status
from arbitrage.ops.metrics import REGISTRY, sample

BTC = "BTC/USDT:USDT"
PRIMARY, HEDGE = "bybit", "binanceusdm"
STEPS = ("prepare", "open", "confirm_funding", "close", "complete")


async def scrape(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def requests_to(exchange: str) -> float:
    """Requests counted so far (the registry is the process's: other tests may have counted some)."""
    return sum(s.value for family in REGISTRY.collect() for s in family.samples
               if s.name == "arbitrage_exchange_request_duration_seconds_count" and s.labels["exchange"] == exchange)


async def test_a_cycle_moves_the_metrics_and_health_is_green(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", http_port=0)
    sim.engine.set_funding(PRIMARY, BTC, rate=Decimal("0.0004"))
    before = {
        "requests": {exchange: requests_to(exchange) for exchange in (PRIMARY, HEDGE)},
        "gap": (sample("arbitrage_leg_gap_seconds_count"), sample("arbitrage_leg_gap_seconds_sum")),
        "lateness": (sample("arbitrage_trigger_lateness_seconds_count"),
                     sample("arbitrage_trigger_lateness_seconds_sum")),
        "steps": {step: sample("arbitrage_pipeline_step_duration_seconds_count", {"step": step}) for step in STEPS},
        "orders": sample("arbitrage_rate_budget_wait_seconds_count", {"exchange": PRIMARY, "budget": "orders"}),
    }
    subscription_id, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=4.0)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    story = await harness.story(subscription_id)

    port = harness.daemon.http.port
    status, body = await scrape(port, "/healthz")
    assert status == 200, body
    status, text = await scrape(port, "/metrics")
    assert status == 200
    metrics = samples(text)

    def value(name: str, **labels: str) -> float | None:
        return metrics.get((name, frozenset(labels.items())))

    for exchange in (PRIMARY, HEDGE):
        sent = sum(v for (name, labels), v in metrics.items()
                   if name == "arbitrage_exchange_request_duration_seconds_count" and ("exchange", exchange) in labels)
        assert sent >= before["requests"][exchange] + 6, f"markets, clock, leverage, 2 orders... on {exchange}"
        assert value("arbitrage_exchange_markets_loaded", exchange=exchange) == 1
        assert abs(value("arbitrage_exchange_clock_offset_seconds", exchange=exchange)) < 0.1
    assert value("arbitrage_rate_budget_wait_seconds_count", exchange=PRIMARY, budget="orders") == before["orders"] + 2
    opened = next(event for event in story.events if event.event == "opened")  # the wire timings, as recorded
    for metric, key, detail in (("arbitrage_leg_gap_seconds", "gap", "gap_ms"),
                                ("arbitrage_trigger_lateness_seconds", "lateness", "trigger_lateness_ms")):
        count, total = before[key]
        assert value(f"{metric}_count") == count + 1
        assert value(f"{metric}_sum") == pytest.approx(total + opened.details[detail] / 1000, abs=1e-6)
    for step in STEPS:
        assert value("arbitrage_pipeline_step_duration_seconds_count", step=step) == before["steps"][step] + 1, step
    assert value("arbitrage_subscriptions", status="COMPLETED") == 1
    assert value("arbitrage_subscriptions", status="SCHEDULED") == 0
    assert value("arbitrage_needs_attention_subscriptions") == 0
    assert value("arbitrage_funding_received_usdt") == float(story.subscription.funding_received)
    assert value("arbitrage_realized_pnl_usdt") == float(story.subscription.realized_pnl)
    assert value("arbitrage_fees_usdt") == float(story.subscription.fees) > 0
    for exchange in (PRIMARY, HEDGE):
        api_key, secret = sim.credentials(exchange)
        assert api_key not in text and secret not in text
