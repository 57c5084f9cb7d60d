"""The request budget counts each request from the moment it reached its connection, as the exchange counts its
arrival: not from the budget's admission (the send gate, a busy loop or a new connection lie between), and a
request that opened a connection from its answer, never earlier than it could have arrived.

Unmodified ccxt against the simulator; the stamps are read from the budget's windows.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.factory import build_connectors
from arbitrage.services.clock import utcnow
from arbitrage.simulator.order_requests import ORDER_PATHS
from arbitrage.simulator.scenario import DEFAULT_SCENARIO
from arbitrage.simulator.server import SimulatorServer
from tests.exchanges.conftest import simulator_settings
from tests.exchanges.test_clock_offsets import TIME_PATHS

S = "BTC/USDT:USDT"


def stamps_ms(windows: Any) -> list[int]:
    """Every request in the windows (once, whatever its weight), by the time it is counted from."""
    items = {id(item): item for bucket in windows._buckets.values() for item in bucket.items}
    return sorted(item.timestamp for item in items.values())


async def test_an_order_counts_from_its_write_not_its_answer(sim: SimulatorServer, connector: CcxtConnector,
                                                             exchange_id: str) -> None:
    """The exchange takes 300 ms to answer: the order is still counted from when it arrived."""
    sim.faults.add(action="latency", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id],
                   latency_ms=300)
    await connector.warm_up(utcnow())  # an order on a new connection is counted from its answer (the next test)
    await connector.create_market_order(S, "buy", Decimal("0.01"), "stamp-1")
    [record] = sim.requests.query(exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id])
    [stamp] = stamps_ms(connector.budget._orders)
    assert abs(stamp - record.received_ns / 1e6) < 150, "counted from its write (its answer came 300 ms later)"


async def test_a_request_that_opened_a_connection_counts_from_its_answer(exchange_id: str) -> None:
    """The simulator holds the first request of each connection 300 ms (a handshake the client cannot see) and
    answers every time request 300 ms after it arrived: the first is counted from its answer, the next one (on
    the kept-alive connection) from its write."""
    scenario = json.loads(DEFAULT_SCENARIO.read_text())
    scenario["venues"][exchange_id]["settings"]["new_connection_delay_ms"] = 300
    async with SimulatorServer(scenario=scenario, host="127.0.0.1", port=0) as sim:
        sim.faults.add(action="latency", exchange=exchange_id, path=TIME_PATHS[exchange_id], latency_ms=300)
        registry = build_connectors(simulator_settings(sim))
        try:
            connector = registry.get(exchange_id)
            assert isinstance(connector, CcxtConnector)
            await connector.client.fetch_time()
            await connector.client.fetch_time()
        finally:
            await registry.close()
        records = sim.requests.query(exchange=exchange_id)
        assert [r.extra.get("new_connection_delay_ms", 0) >= 290 for r in records] == [True, False]
        first, second = (record.received_ns / 1e6 for record in records)
        stamp_first, stamp_second = stamps_ms(connector.budget._reads)
        assert stamp_first >= first + 250, "counted from its answer, never before it arrived"
        assert stamp_second < second + 150, "counted from its write"
        assert 0.55 < connector.new_connection_seconds < 1.0, "handshake and answer, for the warm-up lead"
