"""Orders and their warm-ups have a connection pool of their own: a read in flight when an order goes cannot hold
the connection the warm-up left for it, so the order never pays a new connection's handshake.

Unmodified ccxt against the simulator, which records which requests opened a connection.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.simulator.order_requests import ORDER_PATHS
from arbitrage.simulator.server import SimulatorServer
from tests.exchanges.test_clock_offsets import TIME_PATHS

S = "BTC/USDT:USDT"


async def received(sim: SimulatorServer, exchange_id: str, path: str, count: int) -> None:
    async with asyncio.timeout(5):
        while len(sim.requests.query(exchange=exchange_id, path=path)) < count:
            await asyncio.sleep(0.005)


async def test_an_order_finds_its_warm_connection_while_reads_are_in_flight(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    await connector.load_markets()
    await connector.position_mode()  # read once per account, long before the trigger
    await connector.warm_up()
    # Slow reads in flight when the order goes, more of them than the connections idle in ccxt's pool: in one
    # shared pool they would take the warm connection too.
    sim.faults.add(action="latency", exchange=exchange_id, path=TIME_PATHS[exchange_id], latency_ms=400,
                   times=None)
    opened = sum(1 for record in sim.requests.query(exchange=exchange_id) if record.extra.get("new_connection"))
    reads = [asyncio.create_task(connector.client.fetch_time()) for _ in range(opened + 1)]
    await received(sim, exchange_id, TIME_PATHS[exchange_id], opened + 2)
    await connector.create_market_order(S, "buy", Decimal("0.01"), "warm-1")
    [order] = sim.requests.query(exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id])
    assert "new_connection" not in order.extra, "the order went on the connection its warm-up opened"
    await asyncio.gather(*reads)


async def test_close_closes_both_pools(connector: CcxtConnector) -> None:
    await connector.client.fetch_time()
    await connector.warm_up()
    general = connector.client._arbitrage_session
    orders = connector.client._arbitrage_order_session
    assert general is not None and orders is not None and general is not orders
    await connector.close()
    assert general.closed and orders.closed
    assert connector.client._arbitrage_session is None and connector.client._arbitrage_order_session is None
