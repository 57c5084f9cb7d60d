"""Fixtures: an in-process simulator and unmodified ccxt clients pointed at it over loopback HTTP."""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections.abc import AsyncIterator, Callable
from typing import Any

import ccxt.async_support as ccxt
import pytest

from arbitrage.simulator.scenario import DEFAULT_SCENARIO
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"


def override_urls(api: Any, base: str) -> Any:
    """Every leaf URL of ``exchange.urls['api']`` → ``base + path`` (the shared BASE_URL contract)."""
    if isinstance(api, dict):
        return {key: override_urls(value, base) for key, value in api.items()}
    path = urllib.parse.urlsplit(api.replace("{hostname}", "example.com")).path
    return base.rstrip("/") + path


def production_exceptions(exchange: Any, base: str, hosts: dict[str, str]) -> None:
    """Make ccxt classify errors as for the real hostnames (binance maps -2019 etc. only for fapi.binance.com)."""
    original = exchange.get_exceptions_by_url

    def by_production_url(url: str | None, exact_or_broad: str) -> dict[str, Any]:
        if url is not None and url.startswith(base):
            path = url[len(base) :]
            host = next((host for prefix, host in hosts.items() if path.startswith(prefix)), None)
            if host is not None:
                url = host + path
        return original(url, exact_or_broad)

    exchange.get_exceptions_by_url = by_production_url


def default_scenario() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_SCENARIO.read_text())
    return copy.deepcopy(data)


@pytest.fixture
def scenario() -> dict[str, Any]:
    """The shipped default scenario as a dict (tests may edit it before the server starts)."""
    return default_scenario()


@pytest.fixture
async def sim(scenario: dict[str, Any]) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=scenario, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
async def ccxt_client(sim: SimulatorServer) -> AsyncIterator[Callable[..., Any]]:
    """``ccxt_client("bybit", options={...}, **config)``: an unmodified ccxt async client with the simulated
    account's keys, rate limiting off and every API URL pointed at the simulator; closed after the test."""
    clients: list[Any] = []

    def make(exchange_id: str, **config: Any) -> Any:
        api_key, secret = sim.credentials(exchange_id)
        exchange = getattr(ccxt, exchange_id)({"apiKey": api_key, "secret": secret, "enableRateLimit": False, **config})
        exchange.timeout_on_exit = 0  # ccxt sleeps 250 ms in close() otherwise
        exchange.urls["api"] = override_urls(exchange.urls["api"], sim.base_url(exchange_id))
        clients.append(exchange)
        return exchange

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def make_binance(sim: SimulatorServer, ccxt_client: Callable[..., Any]) -> Callable[..., Any]:
    """ccxt binanceusdm clients classifying errors as for the real hostnames."""

    def make(**config: Any) -> Any:
        options = {"fetchCurrencies": True, **config.pop("options", {})}
        exchange = ccxt_client("binanceusdm", options=options, **config)
        production_exceptions(
            exchange,
            sim.base_url("binanceusdm"),
            {"/fapi/": "https://fapi.binance.com", "/sapi/": "https://api.binance.com"},
        )
        return exchange

    return make


@pytest.fixture
async def binance(make_binance: Callable[..., Any]) -> Any:
    exchange = make_binance()
    await exchange.load_markets()
    return exchange
