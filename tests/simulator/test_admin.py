"""The /admin JSON API, driven over HTTP like a human with curl would."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
VENUE = "binanceusdm"


@pytest.fixture
async def http(sim: SimulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    async with http.request(method, path, json=body) as response:
        payload = await response.json()
        assert response.status == status, payload
        return payload


async def test_state_dump_has_venues_without_secrets(sim: SimulatorServer, http: aiohttp.ClientSession) -> None:
    state = await call(http, "GET", "/admin/state")
    assert set(state["venues"]) == {"binanceusdm", "bybit", "bingx", "mexc"}
    assert "binanceusdm" in state["dialects"]
    api_key, secret = sim.credentials(VENUE)
    text = str(state)
    assert secret not in text and api_key not in text
    assert state["venues"][VENUE]["accounts"][0]["balance"] == "10000"


async def test_mark_price_and_funding(sim: SimulatorServer, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", "/admin/mark_price", {"exchange": VENUE, "symbol": S, "price": "61000.5"})
    before = sim.engine.now()
    result = await call(
        http,
        "POST",
        "/admin/funding",
        {"exchange": VENUE, "symbol": S, "rate": "-0.0003", "next_funding_in_seconds": 30, "interval_seconds": 5,
         "delay_seconds": 1.5},
    )
    instrument = result["instrument"]
    assert instrument["mark_price"] == "61000.5" and instrument["funding_rate"] == "-0.0003"
    assert instrument["funding_interval_s"] == 5 and instrument["settlement_delay_s"] == 1.5
    assert before + 30_000 <= instrument["next_funding_time"] <= sim.engine.now() + 30_000


async def test_accounts_balance_mode_and_creation(sim: SimulatorServer, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", "/admin/accounts", {"exchange": VENUE, "balance": "250", "position_mode": "hedge"})
    account = sim.engine.account(VENUE)
    assert account.balance == Decimal("250") and account.hedge_mode is True
    created = await call(
        http, "POST", "/admin/accounts", {"exchange": VENUE, "api_key": "second-key", "secret": "s2", "balance": "5"}
    )
    assert created["account"]["balance"] == "5"
    assert sim.engine.account(VENUE, "second-key").secret == "s2"
    error = await call(http, "POST", "/admin/accounts", {"exchange": VENUE, "api_key": "nobody"}, status=400)
    assert "secret" in error["error"]


async def test_instrument_add_update_and_delist(
    sim: SimulatorServer, http: aiohttp.ClientSession, make_binance: Any
) -> None:
    new = {
        "exchange": VENUE, "symbol": "DOGE/USDT:USDT", "tick_size": "0.00001", "step_size": "1", "min_qty": "1",
        "max_qty": "1000000", "min_notional": "5", "tiers": [[0, 50000, 50, "0.01"]], "mark_price": "0.15",
    }
    await call(http, "POST", "/admin/instruments", new)
    updated = await call(http, "POST", "/admin/instruments", {"exchange": VENUE, "symbol": S, "min_notional": "50"})
    assert updated["instrument"]["min_notional"] == "50"
    await call(http, "POST", "/admin/instruments", {"exchange": VENUE, "symbol": S, "listed": False})

    binance = make_binance(options={"fetchCurrencies": False})
    await binance.load_markets()
    assert binance.markets["DOGE/USDT:USDT"]["active"] is True
    assert binance.markets[S]["active"] is False
    with pytest.raises(ccxt.ExchangeError, match="-4140"):
        await binance.create_order(S, "market", "buy", 0.01)


async def test_faults_api(sim: SimulatorServer, http: aiohttp.ClientSession) -> None:
    created = await call(
        http, "POST", "/admin/faults",
        {"action": "error", "exchange": VENUE, "path": "/fapi/v1/order", "error_kind": "RATE_LIMITED", "times": 3},
    )
    assert created["fault"]["times"] == 3
    await call(http, "POST", "/admin/faults", {"action": "latency", "exchange": "bybit", "latency_ms": 10})
    assert len((await call(http, "GET", "/admin/faults"))["faults"]) == 2
    assert (await call(http, "DELETE", f"/admin/faults?id={created['fault']['id']}"))["removed"] == 1
    assert (await call(http, "DELETE", "/admin/faults"))["removed"] == 1
    error = await call(http, "POST", "/admin/faults", {"action": "explode"}, status=400)
    assert "explode" in error["error"]


async def test_requests_log_filters(sim: SimulatorServer, http: aiohttp.ClientSession, binance: Any) -> None:
    since = time.time_ns()
    await binance.fetch_balance()
    await binance.fetch_funding_rate(S)
    records = (await call(http, "GET", f"/admin/requests?exchange={VENUE}&since={since}"))["requests"]
    assert [record["path"] for record in records] == ["/fapi/v3/account", "/fapi/v1/premiumIndex"]
    account_call = records[0]
    assert account_call["params"]["signature"] == "<redacted>" and account_call["status"] == 200
    assert account_call["received_ns"] >= since
    only = (await call(http, "GET", "/admin/requests?path=/fapi/v1/premium*"))["requests"]
    assert len(only) == 1


async def test_reset_restores_the_scenario(sim: SimulatorServer, http: aiohttp.ClientSession, binance: Any) -> None:
    await binance.create_order(S, "market", "buy", 0.01)
    sim.faults.add(action="drop", exchange=VENUE)
    await call(http, "POST", "/admin/reset")
    account = sim.engine.account(VENUE)
    assert account.orders == [] and account.balance == Decimal("10000")
    assert sim.faults.list() == [] and len(sim.requests) == 0


async def test_admin_errors_are_json(http: aiohttp.ClientSession) -> None:
    error = await call(http, "POST", "/admin/mark_price", {"exchange": "kraken", "symbol": S, "price": 1}, status=400)
    assert error["kind"] == "UNKNOWN_VENUE"
    error = await call(http, "POST", "/admin/mark_price", {"exchange": VENUE}, status=400)
    assert "symbol" in error["error"]
