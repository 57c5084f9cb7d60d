"""Each exchange's documented rate limits: the refusal is the exchange's own answer, as unmodified ccxt classifies
it; a refused order does not execute; windows slide; per-account budgets are separate, the per-IP budget shared."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from arbitrage.simulator.errors import ErrorKind
from arbitrage.simulator.rate_limits import (
    DOCUMENTED_RULES,
    RateLimiter,
    Rule,
    Scope,
    rate_limit_config,
    request_weight,
)
from arbitrage.simulator.scenario import ScenarioError, load_scenario
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
WINDOW_MS = 300
ORDER_RULES = {"binanceusdm": "orders_10s", "bybit": "order_create", "bingx": "orders", "mexc": "endpoint"}
CLIENT_CONFIG: dict[str, dict[str, Any]] = {
    "binanceusdm": {},
    "bybit": {"options": {"fetchMarkets": {"types": ["linear"]}, "enableUnifiedAccount": True}},
    "bingx": {"options": {"defaultType": "swap"}},
    "mexc": {"options": {"defaultType": "swap"}},
}
AMOUNTS = {"binanceusdm": 0.01, "bybit": 0.01, "bingx": 0.01, "mexc": 100}  # MEXC: contracts of 0.0001 BTC


async def set_limits(sim: SimulatorServer, exchange_id: str, spec: Any) -> dict[str, Any]:
    """Through the admin API, as a benchmark or a human would (the venue's windows start empty)."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sim.url}/admin/rate_limits", json={"exchange": exchange_id, "rate_limits": spec}) as r:
            assert r.status == 200, await r.text()
            return await r.json()


async def client(ccxt_client: Callable[..., Any], exchange_id: str, **config: Any) -> Any:
    exchange = ccxt_client(exchange_id, has={"fetchCurrencies": False}, **CLIENT_CONFIG[exchange_id], **config)
    await exchange.load_markets()
    return exchange


def executed_orders(sim: SimulatorServer, exchange_id: str, api_key: str | None = None) -> int:
    return len(sim.engine.account(exchange_id, api_key).orders)


def refusals(sim: SimulatorServer, exchange_id: str) -> int:
    return len(sim.requests.query(exchange=exchange_id, outcome="rate_limited"))


# ----------------------------------------------------------------------------- each exchange's order limit
@pytest.mark.parametrize(
    ("exchange_id", "error", "code"),
    [
        ("binanceusdm", ccxt.DDoSProtection, "-1015"),  # any HTTP 429 is DDoSProtection in ccxt's binance
        ("bybit", ccxt.RateLimitExceeded, "10006"),
        ("bingx", ccxt.OperationFailed, "100410"),  # ccxt maps BingX's 100410 to OperationFailed
        ("mexc", ccxt.RateLimitExceeded, "510"),
    ],
)
async def test_order_over_the_budget_is_refused_and_not_executed_then_the_window_slides(
    sim: SimulatorServer, ccxt_client: Callable[..., Any], exchange_id: str, error: type[Exception], code: str
) -> None:
    exchange = await client(ccxt_client, exchange_id)
    await set_limits(sim, exchange_id, {"rules": {ORDER_RULES[exchange_id]: {"limit": 2, "window_ms": WINDOW_MS}}})
    amount = AMOUNTS[exchange_id]
    first = time.monotonic()
    for _ in range(2):
        await exchange.create_order(S, "market", "buy", amount)
    with pytest.raises(error, match=code):
        await exchange.create_order(S, "market", "buy", amount)
    assert executed_orders(sim, exchange_id) == 2
    assert refusals(sim, exchange_id) == 1
    [refused] = sim.requests.query(exchange=exchange_id, outcome="rate_limited")
    assert refused.error_kind in {kind.value for kind in ErrorKind} and refused.status is not None

    await asyncio.sleep(max(0.0, WINDOW_MS / 1000 - (time.monotonic() - first)) + 0.05)
    await exchange.create_order(S, "market", "buy", amount)
    assert executed_orders(sim, exchange_id) == 3


async def test_binance_request_weight_per_ip_answers_429_minus_1003(
    sim: SimulatorServer, make_binance: Callable[..., Any]
) -> None:
    binance = make_binance()
    await binance.load_markets()
    await set_limits(sim, "binanceusdm", {"rules": {"ip_weight": {"limit": 12, "window_ms": 60_000}}})
    await binance.fetch_positions([S])  # leverageBracket (weight 1, the first time) + positionRisk (5)
    await binance.fetch_positions([S])
    with pytest.raises(ccxt.DDoSProtection, match="-1003"):
        await binance.fetch_positions([S])
    await binance.create_order(S, "market", "buy", 0.01)  # a new order weighs 0 on the IP limit
    assert executed_orders(sim, "binanceusdm") == 1
    [used] = [row for row in sim.state.limiter.usage()["binanceusdm"] if row["rule"] == "ip_weight"]
    assert used["used"] == 11 and used["key"] == "ip:127.0.0.1"


async def test_binance_reports_used_weight_and_order_count_headers(sim: SimulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.base_url('binanceusdm')}/fapi/v1/premiumIndex") as response:
            assert response.headers["X-MBX-USED-WEIGHT-1M"] == "10"  # premiumIndex without a symbol weighs 10
    await set_limits(sim, "binanceusdm", {"rules": {"ip_weight": {"limit": 5}}})
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.base_url('binanceusdm')}/fapi/v1/premiumIndex") as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["code"] == -1003


async def test_bybit_ip_limit_is_http_403_and_the_uid_limit_has_headers(
    sim: SimulatorServer, ccxt_client: Callable[..., Any]
) -> None:
    bybit = await client(ccxt_client, "bybit")
    await bybit.create_order(S, "market", "buy", 0.01)  # the first also reads the account type (2 requests)
    await set_limits(sim, "bybit", {"rules": {"ip": {"limit": 3, "window_ms": 60_000}}})
    order = await bybit.create_order(S, "market", "buy", 0.01)
    record = sim.requests.query(exchange="bybit", path="/v5/order/create")[-1]
    assert record.outcome == "ok" and order["id"]
    await bybit.fetch_time()
    await bybit.fetch_time()
    with pytest.raises(ccxt.RateLimitExceeded, match="access too frequent"):
        await bybit.fetch_time()
    assert sim.requests.query(exchange="bybit", outcome="rate_limited")[0].status == 403

    await set_limits(sim, "bybit", None)
    await bybit.create_order(S, "market", "buy", 0.01)
    headers = bybit.last_response_headers
    assert headers["X-Bapi-Limit"] == "10" and headers["X-Bapi-Limit-Status"] == "9"
    assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > 0


# ----------------------------------------------------------------------------- per account vs per IP
async def test_order_budgets_are_per_api_key_and_the_ip_budget_is_shared(
    sim: SimulatorServer, make_binance: Callable[..., Any]
) -> None:
    sim.engine.add_account("binanceusdm", "second-key", "second-secret", "10000")
    first = make_binance()
    second = make_binance(apiKey="second-key", secret="second-secret")
    await first.load_markets()
    await second.load_markets()
    await set_limits(
        sim,
        "binanceusdm",
        {"rules": {"orders_10s": {"limit": 1}, "ip_weight": {"limit": 12, "window_ms": 60_000}}},
    )
    await first.create_order(S, "market", "buy", 0.01)
    with pytest.raises(ccxt.DDoSProtection, match="-1015"):
        await first.create_order(S, "market", "buy", 0.01)
    await second.create_order(S, "market", "buy", 0.01)  # its own order budget
    assert executed_orders(sim, "binanceusdm") == 1
    assert executed_orders(sim, "binanceusdm", "second-key") == 1

    await first.fetch_positions([S])  # leverageBracket 1 + positionRisk 5: 6 of the shared 12
    await second.fetch_positions([S])  # 12 of 12
    with pytest.raises(ccxt.DDoSProtection, match="-1003"):
        await second.fetch_positions([S])


# ----------------------------------------------------------------------------- settings and the admin state
async def test_default_limits_are_in_the_admin_state(sim: SimulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        await session.get(f"{sim.base_url('bybit')}/v5/market/time")
        async with session.get(f"{sim.url}/admin/state") as response:
            state = await response.json()
    limits = state["venues"]["bybit"]["settings"]["rate_limits"]
    assert limits["enabled"] is True
    assert {rule["name"]: (rule["limit"], rule["window_ms"]) for rule in limits["rules"]} == {
        "order_create": (10, 1000),
        "ip": (600, 5000),
    }
    assert state["rate_limit_usage"]["bybit"] == [{"rule": "ip", "key": "ip:127.0.0.1", "used": 1, "window_ms": 5000}]


@pytest.fixture
def scenario_without_limits(scenario: dict[str, Any]) -> dict[str, Any]:
    scenario["venues"]["bybit"]["settings"]["rate_limits"] = False
    scenario["venues"]["bingx"]["settings"]["rate_limits"] = {"scale": 3}
    return scenario


@pytest.mark.usefixtures("scenario_without_limits")
async def test_scenario_turns_limits_off_or_raises_them(sim: SimulatorServer, ccxt_client: Callable[..., Any]) -> None:
    assert sim.engine.venue("bybit").config.rate_limits.enabled is False
    assert {rule.name: rule.limit for rule in sim.engine.venue("bingx").config.rate_limits.rules}["orders"] == 30
    bybit = await client(ccxt_client, "bybit")
    await asyncio.gather(*(bybit.create_order(S, "market", "buy", 0.01) for _ in range(15)))
    assert executed_orders(sim, "bybit") == 15 and refusals(sim, "bybit") == 0


def test_rate_limit_settings_are_validated() -> None:
    assert rate_limit_config("bybit").rules == DOCUMENTED_RULES["bybit"]
    off = rate_limit_config("mexc", {"rules": {"endpoint": {"enabled": False}}})
    assert off.enabled and off.rules == ()
    for bad, problem in [
        ({"rules": {"nope": {"limit": 1}}}, "has no rules"),
        ({"rules": {"ip": {"scope": "account"}}}, "only limit, window_ms and enabled"),
        ({"scale": 0}, "positive"),
        ({"speed": 1}, "unknown keys"),
        ("fast", "true, false or a mapping"),
    ]:
        with pytest.raises(ValueError, match=problem):
            rate_limit_config("bybit", bad)
    scenario = {"venues": {"bybit": {"settings": {"rate_limits": {"rules": {"orders": {}}}}}}}
    with pytest.raises(ScenarioError, match="venues.bybit.settings: rate_limits.rules: bybit has no rules"):
        load_scenario(scenario)


# ----------------------------------------------------------------------------- the limiter itself
def test_rolling_window_counts_accepted_requests_only_and_keys_are_separate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    config = rate_limit_config("bingx", {"rules": {"orders": {"limit": 2, "window_ms": 1000}}})

    def order(key: str) -> bool:
        refusal, _ = limiter.admit("bingx", config, "POST", "/openApi/swap/v2/trade/order", {}, key, "10.0.0.1")
        return refusal is None

    assert [order("a"), order("a"), order("a"), order("b")] == [True, True, False, True]
    now[0] = 999.0
    assert not order("a")  # the first two are still inside the window; the refusal did not count
    now[0] = 1000.0
    assert order("a") and order("a") and not order("a")


def test_requests_count_from_their_arrival_not_their_processing() -> None:
    """Two orders 1.1 s apart, the first processed 400 ms late (the simulator's loop was busy): a limit of one per
    second takes both, as the exchange would. Counted at processing they would look 700 ms apart."""
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    config = rate_limit_config("bingx", {"rules": {"orders": {"limit": 1, "window_ms": 1000}}})

    def order(arrived_ms: float) -> bool:
        return limiter.admit("bingx", config, "POST", "/openApi/swap/v2/trade/order", {}, "a", "10.0.0.1",
                             at_ms=arrived_ms)[0] is None

    now[0] = 400.0
    assert order(0.0)
    now[0] = 1100.0
    assert order(1100.0)
    assert not order(1150.0)


def test_per_endpoint_and_account_or_ip_keys() -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    rule = Rule("endpoint", 1, 2000, Scope.ACCOUNT_OR_IP, ErrorKind.RATE_LIMITED, per_endpoint=True)
    config = rate_limit_config("mexc", {"rules": {"endpoint": {"limit": 1}}})
    assert config.rules == (rule,)

    def get(path: str, key: str | None, ip: str = "1.1.1.1") -> bool:
        return limiter.admit("mexc", config, "GET", path, {}, key, ip)[0] is None

    assert get("/a", None) and get("/b", None) and not get("/a", None)  # per endpoint, public → per IP
    assert get("/a", "k1") and not get("/a", "k1") and get("/a", None, ip="2.2.2.2")


@pytest.mark.parametrize(
    ("method", "path", "params", "weight"),
    [
        ("POST", "/fapi/v1/order", {"symbol": "BTCUSDT"}, 0),
        ("GET", "/fapi/v3/positionRisk", {}, 5),
        ("GET", "/fapi/v1/income", {"symbol": "BTCUSDT"}, 30),
        ("GET", "/fapi/v1/positionSide/dual", {}, 30),
        ("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, 1),
        ("GET", "/fapi/v1/premiumIndex", {}, 10),
        ("GET", "/fapi/v1/exchangeInfo", {}, 1),
    ],
)
def test_binance_request_weights(method: str, path: str, params: dict[str, str], weight: int) -> None:
    assert request_weight("binanceusdm", method, path, params) == weight


# ----------------------------------------------------------------------------- new-connection delay
@pytest.fixture
def scenario_with_handshake(scenario: dict[str, Any]) -> dict[str, Any]:
    scenario["venues"]["bybit"]["settings"]["new_connection_delay_ms"] = 150
    return scenario


@pytest.mark.usefixtures("scenario_with_handshake")
async def test_new_connection_delay_applies_to_the_first_request_of_each_connection(sim: SimulatorServer) -> None:
    url = f"{sim.base_url('bybit')}/v5/market/time"

    async def timed(session: aiohttp.ClientSession) -> float:
        started = time.monotonic()
        async with session.get(url) as response:
            await response.read()
        return time.monotonic() - started

    async with aiohttp.ClientSession() as session:
        first, second, third = await timed(session), await timed(session), await timed(session)
    async with aiohttp.ClientSession() as fresh:
        again = await timed(fresh)
    assert first >= 0.15 and again >= 0.15
    assert second < 0.1 and third < 0.1  # the same kept-alive connection
    delays = [record.extra.get("new_connection_delay_ms") for record in sim.requests.query(exchange="bybit")]
    assert [delay is not None and 140 <= delay <= 150 for delay in delays] == [True, False, False, True]


@pytest.mark.usefixtures("scenario_with_handshake")
async def test_a_connection_opened_before_its_first_request_has_paid_the_handshake(sim: SimulatorServer) -> None:
    """The handshake runs from the connection's accept: a request sent 100 ms after connecting waits the other
    50 ms, one sent 200 ms after waits nothing, and each records how old its connection was."""
    host, port = sim.base_url("bybit").split("//")[1].split("/")[0].split(":")

    async def first_request_after(seconds: float) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        await asyncio.sleep(seconds)
        writer.write(f"GET /bybit/v5/market/time HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await reader.read()
        writer.close()

    await first_request_after(0.1)
    await first_request_after(0.2)
    early, late = sim.requests.query(exchange="bybit")
    assert 40 <= early.extra["new_connection_delay_ms"] <= 50 and 95 <= early.extra["connection_age_ms"] <= 130
    assert "new_connection_delay_ms" not in late.extra and late.extra["connection_age_ms"] >= 195
