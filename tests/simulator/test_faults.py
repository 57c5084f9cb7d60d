"""Every fault kind, seen through unmodified ccxt binanceusdm."""

from __future__ import annotations

import time
from typing import Any

import ccxt.async_support as ccxt
import pytest

from arbitrage.simulator.errors import ErrorKind
from arbitrage.simulator.faults import Fault, FaultRegistry
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
VENUE = "binanceusdm"
ORDER = "/fapi/v1/order"


def filled_orders(sim: SimulatorServer) -> int:
    return len(sim.engine.account(VENUE).orders)


async def test_error_kind_fault_uses_the_dialect_error_once(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="error", exchange=VENUE, method="POST", path=ORDER, error_kind="INSUFFICIENT_MARGIN")
    with pytest.raises(ccxt.InsufficientFunds, match="-2019"):
        await binance.create_order(S, "market", "buy", 0.01)
    assert filled_orders(sim) == 0  # an error fault rejects without processing
    await binance.create_order(S, "market", "buy", 0.01)  # times=1: the next one passes
    assert filled_orders(sim) == 1
    [faulted, passed] = sim.requests.query(exchange=VENUE, path=ORDER)
    assert (faulted.outcome, faulted.error_kind, faulted.status) == ("fault:error", "INSUFFICIENT_MARGIN", 400)
    assert (passed.outcome, passed.status) == ("ok", 200)


async def test_raw_error_body_fault(sim: SimulatorServer, binance: Any) -> None:
    body = '{"code":-1015,"msg":"Too many new orders; current limit is 300 orders per TEN_SECONDS."}'
    sim.faults.add(action="error", exchange=VENUE, path=ORDER, status=400, body=body)
    with pytest.raises(ccxt.RateLimitExceeded):
        await binance.create_order(S, "market", "buy", 0.01)


async def test_latency_fault_delays_then_processes(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="latency", exchange=VENUE, path="/fapi/v1/premiumIndex", latency_ms=300)
    started = time.perf_counter()
    rate = await binance.fetch_funding_rate(S)
    assert time.perf_counter() - started >= 0.3
    assert rate["fundingRate"] == 0.0001


async def test_http_5xx_non_json_is_exchange_not_available(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="http_5xx", exchange=VENUE, path="/fapi/v3/account", status=503)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await binance.fetch_balance()


async def test_dropped_connection_is_network_error_and_not_processed(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="drop", exchange=VENUE, method="POST", path=ORDER)
    with pytest.raises(ccxt.NetworkError):
        await binance.create_order(S, "market", "buy", 0.01)
    assert filled_orders(sim) == 0


async def test_dropped_get_needs_two_hits_because_aiohttp_retries_idempotent_requests(
    sim: SimulatorServer, binance: Any
) -> None:
    sim.faults.add(action="drop", exchange=VENUE, method="GET", path="/fapi/v3/account", times=2)
    with pytest.raises(ccxt.NetworkError):
        await binance.fetch_balance()
    assert len(sim.requests.query(path="/fapi/v3/account", outcome="fault:drop")) == 2


async def test_lost_response_times_out_but_the_order_filled(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="lost_response", exchange=VENUE, method="POST", path=ORDER, lost_delay_ms=5000)
    binance.timeout = 300  # ms
    with pytest.raises(ccxt.RequestTimeout):
        await binance.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "lost-1"})
    binance.timeout = 10_000
    order = await binance.fetch_order(None, S, {"clientOrderId": "lost-1"})
    assert order["status"] == "closed" and order["filled"] == 0.01
    assert order["info"]["status"] == "FILLED"


async def test_lost_response_by_dropped_connection(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="lost_response", exchange=VENUE, method="POST", path=ORDER, lost_mode="drop")
    with pytest.raises(ccxt.NetworkError):
        await binance.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "lost-2"})
    order = await binance.fetch_order(None, S, {"clientOrderId": "lost-2"})
    assert order["status"] == "closed"


async def test_fault_matches_request_params(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(
        action="error", exchange=VENUE, path=ORDER, params={"symbol": "ETHUSDT"}, error_kind="INTERNAL_ERROR", times=None
    )
    await binance.create_order(S, "market", "buy", 0.01)
    for _ in range(2):
        with pytest.raises(ccxt.OperationFailed, match="-1001"):
            await binance.create_order("ETH/USDT:USDT", "market", "buy", 0.1)
    assert filled_orders(sim) == 1


async def test_fault_message_override(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="error", exchange=VENUE, path="/fapi/v1/premiumIndex", error_kind="MAINTENANCE",
                   message="System is under maintenance.")
    with pytest.raises(ccxt.OnMaintenance):
        await binance.fetch_funding_rate(S)


@pytest.mark.parametrize(
    ("fault", "request_", "matches"),
    [
        (Fault("latency", exchange="bybit"), ("binanceusdm", "GET", "/x", {}), False),
        (Fault("latency", method="POST"), ("binanceusdm", "GET", "/x", {}), False),
        (Fault("latency", path="/fapi/v1/*"), ("binanceusdm", "GET", "/fapi/v1/order", {}), True),
        (Fault("latency", path="^/fapi/v[23]/"), ("binanceusdm", "GET", "/fapi/v3/account", {}), True),
        (Fault("latency", params={"side": "BUY"}), ("binanceusdm", "POST", "/o", {"side": "SELL"}), False),
        (Fault("latency", params={"leverage": 5}), ("binanceusdm", "POST", "/o", {"leverage": "5"}), True),
    ],
)
def test_fault_matching(fault: Fault, request_: tuple[str, str, str, dict[str, Any]], matches: bool) -> None:
    assert fault.matches(*request_) is matches


def test_fault_registry_counts_and_validation() -> None:
    registry = FaultRegistry()
    always = registry.add(action="latency", path="/a", times=None)
    twice = registry.add(action="error", path="/b", error_kind=ErrorKind.RATE_LIMITED, times=2)
    assert registry.take("x", "GET", "/b", {}) is twice
    assert registry.take("x", "GET", "/b", {}) is twice
    assert registry.take("x", "GET", "/b", {}) is None
    assert all(registry.take("x", "GET", "/a", {}) is always for _ in range(3))
    with pytest.raises(ValueError):
        Fault("error")  # needs error_kind or status+body
    with pytest.raises(ValueError):
        Fault.from_dict({"action": "drop", "bogus": 1})
