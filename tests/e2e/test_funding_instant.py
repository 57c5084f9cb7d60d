"""One funding instant under the exchanges' documented rate limits (the simulator enforces them, the daemon's
budgets are the documented ones): every ordered pair of the four exchanges at once, nothing refused, nothing late,
both legs of each pair together; and the orders find warm connections."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from e2e_harness import ORDER_PATHS
from fault_matrix import cell_symbols, matrix_scenario

from arbitrage.domain import OrderPurpose, Side
from arbitrage.domain.status import Status
from arbitrage.services.pipeline_config import PipelineConfig

EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")
PAIRS = list(itertools.permutations(EXCHANGES, 2))  # 12 ordered pairs, each exchange in 6 of them


@pytest.fixture
def scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    """A symbol of its own per pair (one-way accounts net what shares one), the exchanges' documented limits."""
    return matrix_scenario(scenario, cell_symbols(len(PAIRS)), rate_limit_scale=None)


async def test_every_pair_at_one_instant_within_the_limits(sim, harness_factory, tmp_path) -> None:
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", leverage_sync_ahead_seconds=4,
                                    lead_seconds=3)
    funding_ms = (sim.engine.now() + 9000) // 1000 * 1000
    ids = []
    for (primary, hedge), symbol in zip(PAIRS, cell_symbols(len(PAIRS)), strict=True):
        for exchange in (primary, hedge):
            sim.engine.set_funding(exchange, symbol, next_funding_time=funding_ms,
                                   rate=Decimal("0.0005") if exchange == primary else Decimal("0.0001"))
        subscription_id, _ = await harness.subscribe(primary, hedge, Side.SHORT, symbol=symbol, funding_in=9,
                                                     set_funding_time=False)
        ids.append(subscription_id)
    await harness.start()
    assert set((await harness.wait_until_finished(ids, timeout=60)).values()) == {Status.COMPLETED}

    assert sim.requests.query(outcome="rate_limited") == [], "no request over an exchange's limit"
    config = PipelineConfig.from_settings(harness.settings)
    for subscription_id in ids:
        story = await harness.story(subscription_id)
        opened = next(event for event in story.events if event.event == "opened")
        assert opened.details["gap_ms"] < 50, "both legs leave together"
        assert -1 < opened.details["trigger_lateness_ms"] < 100
        opens = [o for o in story.orders if o.purpose is OrderPurpose.OPEN]
        deadline = config.entry_deadline(story.subscription)
        assert all(o.sent_at < deadline for o in opens), "nothing sent after the entry deadline"
        # Closes are planned as they come (after each funding confirmation), around sends already signed a little
        # after their slots: within 250 ms of each other, where an unplanned BingX close lags its hedge by 1 s.
        closes = [o.sent_at for o in story.orders if o.purpose is OrderPurpose.CLOSE]
        assert len(closes) == 2 and abs((closes[0] - closes[1]).total_seconds()) < 0.25, "closes leave together"


async def test_the_orders_find_warm_connections(sim, harness_factory, tmp_path) -> None:
    """Preparation runs 19 s before the trigger; aiohttp drops a connection idle for 15 s, so without the warm-up
    just before the trigger each open would pay a new connection (here 300 ms, a TLS handshake on a slow link)."""
    for exchange in ("bybit", "binanceusdm"):
        sim.engine.venue(exchange).config.new_connection_delay_ms = 300
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", leverage_sync_ahead_seconds=19)
    sim.engine.set_funding("bybit", "BTC/USDT:USDT", rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=23)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id], timeout=40) == {subscription_id: Status.COMPLETED}
    for exchange in ("bybit", "binanceusdm"):
        opens = [r for r in sim.requests.query(exchange=exchange, path=ORDER_PATHS[exchange], method="POST")][:1]
        assert opens and "new_connection_delay_ms" not in opens[0].extra, f"{exchange}: the open paid a handshake"
