"""Exchange clocks: each connector measures its exchange's offset (best of a few round trips), signs every request
with a timestamp on the exchange's clock, reads an order's deadline on that clock, and retries a request the
exchange refused for its timestamp once, after measuring again.

Unmodified ccxt against the simulator, whose exchanges check timestamps against their own (offset) clocks.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from arbitrage.exchanges.ccxt_connector import CLOCK_SAMPLES, CcxtConnector
from arbitrage.exchanges.connector import ErrorKind, ExchangeError
from arbitrage.services.clock import utcnow
from arbitrage.simulator.order_requests import ORDER_PATHS
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
AMOUNT = Decimal("0.01")
TIME_PATHS = {
    "binanceusdm": "/fapi/v1/time",
    "bybit": "/v5/market/time",
    "bingx": "/openApi/swap/v2/server/time",
    "mexc": "/api/v1/contract/ping",
}
WINDOW = {"order_recv_window_ms": 1000}  # shorter than the offsets below: a wrong timestamp is refused


def order_records(sim: SimulatorServer, exchange_id: str) -> list:
    return sim.requests.query(exchange=exchange_id, path=ORDER_PATHS[exchange_id], method="POST")


def positions(sim: SimulatorServer, exchange_id: str) -> list:
    venue = sim.engine.venue(exchange_id)
    return venue.position_views(venue.default_account(), S)


@pytest.mark.parametrize("offset_ms", [3000, -3000])
async def test_orders_are_signed_and_bounded_on_the_exchange_clock(sim, make_connector, exchange_id, offset_ms) -> None:
    sim.engine.set_clock_offset(exchange_id, offset_ms)
    connector: CcxtConnector = await make_connector(exchange_overrides={exchange_id: {"order_recv_window_ms": 5000}})
    clock = await connector.measure_clock_offset()
    assert connector.clock_offset == clock and clock.measured_at is not None
    assert clock.offset_ms == pytest.approx(offset_ms, abs=100) and clock.uncertainty_ms < 100
    await connector.position_mode()  # read now, not between the deadline below and the order
    # Deadline 1.6 s ahead on the exchange's clock: the window ends there, not 1.6 s ahead on ours.
    deadline = utcnow() + timedelta(milliseconds=clock.offset_ms + 1600)
    report = await connector.create_market_order(S, "buy", AMOUNT, "clk-1", execute_before=deadline)
    [record] = order_records(sim, exchange_id)
    assert record.outcome == "ok" and report.filled == AMOUNT
    exchange_received_ms = record.received_ns / 1e6 + offset_ms
    assert record.timestamp_ms == pytest.approx(exchange_received_ms, abs=100), "timestamp on the exchange's clock"
    # 1.6 s less the time it took to sign (MEXC counts whole seconds; 1 ms for rounding to whole ms); read on our
    # clock it would be 4.6 s or nothing at all (too late).
    assert 1000 <= record.recv_window_ms <= 1601


@pytest.mark.parametrize("jump_ms", [3000, -3000])
async def test_a_refused_timestamp_is_retried_once_after_measuring_again(sim, make_connector, exchange_id,
                                                                          jump_ms) -> None:
    connector: CcxtConnector = await make_connector(exchange_overrides={exchange_id: WINDOW})
    await connector.measure_clock_offset()
    await connector.position_mode()  # read now: the order below is the first request after the jump
    sim.engine.set_clock_offset(exchange_id, jump_ms)  # the exchange's clock jumps after our measurement
    sim.requests.clear()
    report = await connector.create_market_order(S, "buy", AMOUNT, "clk-2")
    first, second = order_records(sim, exchange_id)
    assert first.error_kind == "AUTH_TIMESTAMP" and second.outcome == "ok", "refused, then accepted once"
    assert all("clk-2" in record.params.values() for record in (first, second)), "the same order, sent again"
    time_requests = sim.requests.query(exchange=exchange_id, path=TIME_PATHS[exchange_id])
    assert len(time_requests) == CLOCK_SAMPLES, "measured again in between"
    assert first.seq < min(r.seq for r in time_requests) < second.seq
    assert connector.clock_offset is not None and connector.clock_offset.offset_ms == pytest.approx(jump_ms, abs=100)
    assert report.filled == AMOUNT and len(positions(sim, exchange_id)) == 1


async def test_refused_again_after_measuring_is_not_retried_further(sim, make_connector, exchange_id) -> None:
    connector: CcxtConnector = await make_connector(exchange_overrides={exchange_id: WINDOW})
    sim.faults.add(action="error", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id],
                   error_kind="AUTH_TIMESTAMP", times=3)
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT, "clk-3")
    assert raised.value.kind is ErrorKind.CLOCK and not raised.value.retryable and not raised.value.outcome_unknown
    assert "re-measuring" in raised.value.reason
    assert len(order_records(sim, exchange_id)) == 2 and positions(sim, exchange_id) == []


async def test_the_offset_comes_from_the_shortest_round_trip(sim, make_connector, exchange_id) -> None:
    sim.engine.set_clock_offset(exchange_id, 2000)
    connector: CcxtConnector = await make_connector()
    sim.faults.add(action="latency", exchange=exchange_id, path=TIME_PATHS[exchange_id], latency_ms=300)
    clock = await connector.measure_clock_offset()
    assert clock.uncertainty_ms < 150, "the slow sample (a round trip of 300 ms or more) was not kept"
    assert clock.offset_ms == pytest.approx(2000, abs=100)
