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
async def make_binance(sim: SimulatorServer) -> AsyncIterator[Callable[..., Any]]:
    """Factory for ccxt binanceusdm clients; every client made is closed after the test."""
    clients: list[Any] = []

    def make(**config: Any) -> Any:
        api_key, secret = sim.credentials("binanceusdm")
        options = {"fetchCurrencies": True, **config.pop("options", {})}
        exchange = ccxt.binanceusdm(
            {"apiKey": api_key, "secret": secret, "enableRateLimit": False, "options": options, **config}
        )
        exchange.timeout_on_exit = 0  # ccxt sleeps 250 ms in close() otherwise
        base = sim.base_url("binanceusdm")
        exchange.urls["api"] = override_urls(exchange.urls["api"], base)
        production_exceptions(
            exchange, base, {"/fapi/": "https://fapi.binance.com", "/sapi/": "https://api.binance.com"}
        )
        clients.append(exchange)
        return exchange

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def binance(make_binance: Callable[..., Any]) -> Any:
    exchange = make_binance()
    await exchange.load_markets()
    return exchange
