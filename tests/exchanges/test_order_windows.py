"""Every order carries a short receive window, as each exchange reads it, and the exchange holds us to it.

Unmodified ccxt against the simulator: the window the simulator read from each request (its own timestamp rule),
a window capped by the time an order must have executed by, an order refused before it is sent, an order held
past its window (refused by the exchange, never executed) and one held inside it (executed late), and an order
index that lags behind execution.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.connector import ExchangeError, OrderNotFound
from arbitrage.services.clock import utcnow
from arbitrage.simulator.order_requests import ORDER_PATHS
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
AMOUNT = Decimal("0.01")


def order_records(sim: SimulatorServer, exchange_id: str) -> list:
    return sim.requests.query(exchange=exchange_id, path=ORDER_PATHS[exchange_id], method="POST")


def position(sim: SimulatorServer, exchange_id: str) -> list:
    venue = sim.engine.venue(exchange_id)
    return venue.position_views(venue.default_account(), S)


async def test_every_order_carries_the_configured_window(sim, make_connector, exchange_id) -> None:
    connector: CcxtConnector = await make_connector(exchange_overrides={exchange_id: {"order_recv_window_ms": 2000}})
    await connector.measure_clock_offset()
    report = await connector.create_market_order(S, "buy", AMOUNT, "win-1")
    [record] = order_records(sim, exchange_id)
    assert record.recv_window_ms == 2000, "the exchange read the configured window from the order request"
    assert report.request is not None
    # The recorded signing time is not earlier than the timestamp the exchange checked, and the window closes
    # (on our clock) no earlier than timestamp + window.
    # (The timestamp is on the exchange's clock: ours corrected by the measured offset.)
    offset_ms = round(connector.clock_offset.offset_ms) if connector.clock_offset else 0
    assert report.request.signed_at.timestamp() * 1000 + offset_ms >= record.timestamp_ms
    assert report.request.executable_until >= report.request.signed_at + timedelta(milliseconds=2000)
    assert report.request.executable_until - report.request.signed_at < timedelta(milliseconds=2100)
    assert report.executed_at is not None and report.filled == AMOUNT


async def test_reads_keep_ccxt_defaults_except_where_ccxt_has_one_window(sim, make_connector, exchange_id) -> None:
    connector: CcxtConnector = await make_connector(exchange_overrides={exchange_id: {"order_recv_window_ms": 2000}})
    await connector.create_market_order(S, "buy", AMOUNT, "win-2")
    await connector.fetch_order(S, "win-2")
    lookup = [r for r in sim.requests.query(exchange=exchange_id, method="GET") if r.recv_window_ms is not None][-1]
    # bybit signs one window for every request (ccxt's option); the others keep their read windows.
    expected = {"binanceusdm": 10_000, "bybit": 5000, "bingx": 5000, "mexc": 10_000}[exchange_id]
    assert lookup.recv_window_ms == expected


async def test_the_window_never_reaches_past_execute_before(sim, connector, exchange_id) -> None:
    await connector.create_market_order(S, "buy", AMOUNT, "win-3", execute_before=utcnow() + timedelta(seconds=1.6))
    [record] = order_records(sim, exchange_id)
    if exchange_id == "mexc":
        assert record.recv_window_ms == 1000, "MEXC counts whole seconds: rounded down"
    else:
        assert 1400 <= record.recv_window_ms <= 1600


async def test_an_order_with_no_time_left_is_not_sent(sim, connector, exchange_id) -> None:
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT, "win-4", execute_before=utcnow() + timedelta(
            milliseconds=50))
    assert raised.value.kind == "too_late" and raised.value.request is None, "nothing left: it says so"
    assert order_records(sim, exchange_id) == [] and position(sim, exchange_id) == []


async def test_an_order_held_past_its_window_is_refused_and_never_executes(sim, make_connector, exchange_id) -> None:
    connector: CcxtConnector = await make_connector(
        order_timeout_seconds=5, exchange_overrides={exchange_id: {"order_recv_window_ms": 1000}})
    # Held both times: a refused timestamp is sent once more, after the clock was measured again.
    sim.faults.add(action="latency", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id],
                   latency_ms=2200, times=2)
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT, "win-5")
    records = order_records(sim, exchange_id)
    assert [r.error_kind for r in records] == ["AUTH_TIMESTAMP"] * 2, "the exchange's timestamp error, after the hold"
    assert not raised.value.outcome_unknown, "the exchange answered: it did not execute"
    assert position(sim, exchange_id) == []


async def test_an_order_held_inside_its_window_executes_late(sim, make_connector, exchange_id) -> None:
    connector: CcxtConnector = await make_connector(order_timeout_seconds=1)
    sim.faults.add(action="latency", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id],
                   latency_ms=1500)
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT, "win-6")
    assert raised.value.outcome_unknown and raised.value.request is not None
    assert utcnow() < raised.value.request.executable_until, "our timeout came first: it may still execute"
    await asyncio.sleep(0.8)
    assert position(sim, exchange_id) != [], "the held order executed after our timeout"


async def test_an_index_lag_hides_an_executed_order_from_lookups(sim, connector, exchange_id) -> None:
    sim.faults.add(action="lost_response", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id],
                   lost_mode="drop")
    sim.faults.add(action="index_lag", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id],
                   lag_ms=1500)
    with pytest.raises(ExchangeError):
        await connector.create_market_order(S, "buy", AMOUNT, "win-7")
    assert position(sim, exchange_id) != [], "executed"
    with pytest.raises(OrderNotFound):
        await connector.fetch_order(S, "win-7")
    await asyncio.sleep(1.6)
    assert (await connector.fetch_order(S, "win-7")).filled == AMOUNT
