"""Orders and their warm-ups have a connection pool of their own, and each warm-up holds one connection until just
before its send: a read in flight when an order goes cannot take the connection left for it, a send of several
orders finds one per order, and no warm-up request counts against the exchange's limits.

Unmodified ccxt against the simulator, which records which requests came on a new connection and whether they
waited for its handshake (200 ms here, run from the connection's accept as a TLS handshake runs from the connect).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.services.clock import sleep_until, utcnow
from arbitrage.services.warm_up import RELEASE_BEFORE_SECONDS
from arbitrage.simulator.order_requests import ORDER_PATHS
from arbitrage.simulator.server import SimulatorServer
from tests.exchanges.test_clock_offsets import TIME_PATHS

S = "BTC/USDT:USDT"
HANDSHAKE_MS = 200


@pytest.fixture
async def ready(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> CcxtConnector:
    """Markets, position mode and clock read (as preparation does, long before the send); handshakes from now on."""
    await connector.load_markets()
    await connector.position_mode()
    await connector.measure_clock_offset()
    sim.engine.venue(exchange_id).config.new_connection_delay_ms = HANDSHAKE_MS
    return connector


def paid_handshakes(sim: SimulatorServer, exchange_id: str) -> list[bool]:
    orders = sim.requests.query(exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id])
    return ["new_connection_delay_ms" in record.extra for record in orders]


async def test_an_order_finds_its_warm_connection_while_reads_are_in_flight(
    sim: SimulatorServer, ready: CcxtConnector, exchange_id: str
) -> None:
    send_at = utcnow() + timedelta(seconds=0.3)
    await ready.warm_up(send_at)
    # Slow reads in flight when the order goes, more of them than ccxt's own pool holds: in one shared pool they
    # would take the warm connection too.
    sim.faults.add(action="latency", exchange=exchange_id, path=TIME_PATHS[exchange_id], latency_ms=400,
                   times=None)
    reads = [asyncio.create_task(ready.client.fetch_time()) for _ in range(4)]
    await asyncio.sleep(0.05)
    await ready.create_market_order(S, "buy", Decimal("0.01"), "warm-1")
    assert paid_handshakes(sim, exchange_id) == [False], "the order went on the connection its warm-up opened"
    await asyncio.gather(*reads)


async def test_a_send_finds_one_connection_per_order_and_the_warm_ups_send_no_request(
    sim: SimulatorServer, ready: CcxtConnector, exchange_id: str
) -> None:
    requests_before = len(sim.requests.query(exchange=exchange_id))
    send_at = utcnow() + timedelta(seconds=0.5)
    warm_ups = []
    for _ in range(3):  # one after the other, as warm-ups delayed by a busy loop or a budget come
        warm_ups.append(asyncio.create_task(ready.warm_up(send_at - timedelta(seconds=RELEASE_BEFORE_SECONDS))))
        await asyncio.sleep(0.05)
    assert await sleep_until(send_at)
    await asyncio.gather(*(ready.create_market_order(S, "buy", Decimal("0.01"), f"warm-{i}") for i in range(3)))
    await asyncio.gather(*warm_ups)
    assert paid_handshakes(sim, exchange_id) == [False] * 3
    assert len(sim.requests.query(exchange=exchange_id)) - requests_before == 3 + 3, "3 orders and 3 fill reads"


async def test_before_the_clock_is_measured_a_warm_up_is_one_request_on_the_orders_pool(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    await connector.warm_up(utcnow())
    [warm_up] = sim.requests.query(exchange=exchange_id, path=TIME_PATHS[exchange_id])
    assert warm_up.extra.get("new_connection") and connector.client._arbitrage_order_session is not None


async def test_close_closes_both_pools(ready: CcxtConnector) -> None:
    await ready.warm_up(utcnow())
    general = ready.client._arbitrage_session
    orders = ready.client._arbitrage_order_session
    assert general is not None and orders is not None and general is not orders
    await ready.close()
    assert general.closed and orders.closed
    assert ready.client._arbitrage_session is None and ready.client._arbitrage_order_session is None


async def test_an_order_never_waits_for_a_connection_behind_the_holds(
    sim: SimulatorServer, ready: CcxtConnector, exchange_id: str
) -> None:
    """More holds than aiohttp's default limit of 100 connections: an urgent order (an unwind) meanwhile still
    gets a connection at once instead of waiting for the holds to end."""
    until = utcnow() + timedelta(seconds=1.5)
    holds = [asyncio.create_task(ready.warm_up(until)) for _ in range(101)]
    await asyncio.sleep(0.3)
    await ready.create_market_order(S, "buy", Decimal("0.01"), "urgent-1")
    assert utcnow() < until - timedelta(seconds=0.5), "the order did not wait for the holds"
    await asyncio.gather(*holds)
