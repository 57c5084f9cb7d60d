"""The exchange closes connections idle for 2 s here (real gateways close idle ones too), and each new connection
costs 300 ms (a TLS handshake on a slow link): the closes, seconds after the opens, still find warm connections,
because they are warmed up just before they go, as the opens are before the trigger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from e2e_harness import ORDER_PATHS

from arbitrage.domain import OrderPurpose, Side
from arbitrage.domain.status import Status
from arbitrage.simulator.server import SimulatorServer

KEEPALIVE_SECONDS = 2.0


@pytest.fixture
async def sim(scenario: dict[str, Any]) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=scenario, keepalive_seconds=KEEPALIVE_SECONDS) as server:
        yield server


async def test_the_closes_find_warm_connections_after_the_gateway_closed_the_idle_ones(
    sim, harness_factory, tmp_path
) -> None:
    exchanges = ("bybit", "binanceusdm")
    for exchange in exchanges:
        sim.engine.venue(exchange).config.new_connection_delay_ms = 300
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    sim.engine.set_funding("bybit", "BTC/USDT:USDT", rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("bybit", "binanceusdm", Side.SHORT, funding_in=6)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id], timeout=40) == {subscription_id: Status.COMPLETED}

    story = await harness.story(subscription_id)
    opened = max(o.sent_at for o in story.orders if o.purpose is OrderPurpose.OPEN)
    closed = min(o.sent_at for o in story.orders if o.purpose is OrderPurpose.CLOSE)
    assert (closed - opened).total_seconds() > KEEPALIVE_SECONDS + 0.5, "the opens' connections were closed meanwhile"
    for exchange in exchanges:
        orders = sim.requests.query(exchange=exchange, path=ORDER_PATHS[exchange], method="POST")
        assert len(orders) == 2
        assert all("new_connection_delay_ms" not in r.extra for r in orders), f"{exchange}: an order paid a handshake"
