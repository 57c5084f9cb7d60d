"""An in-process simulator and our connectors (built by `factory.build_connectors`) pointed at it over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.exchanges.factory import build_connectors
from arbitrage.settings import Settings
from arbitrage.simulator.dialects import dialect_problem
from arbitrage.simulator.server import SimulatorServer

EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")

def simulator_settings(sim: SimulatorServer, **overrides: Any) -> Settings:
    """Settings pointing every simulated exchange at the simulator (never reading .env files)."""
    exchanges: dict[str, dict[str, Any]] = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"base_url": sim.base_url(exchange_id), "api_key": api_key, "secret": secret}
    for exchange_id, fields in overrides.pop("exchange_overrides", {}).items():
        exchanges[exchange_id].update(fields)
    return Settings(_env_file=None, exchanges=exchanges, **overrides)  # type: ignore[call-arg]


@pytest.fixture(params=EXCHANGES)
def exchange_id(request: pytest.FixtureRequest) -> str:
    problem = dialect_problem(request.param)
    if problem is not None:
        pytest.skip(f"simulator dialect for {request.param}: {problem}")
    return str(request.param)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=None, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
async def make_registry(sim: SimulatorServer) -> AsyncIterator[Callable[..., ConnectorRegistry]]:
    """Build connector registries from settings overrides; every one is closed after the test."""
    registries: list[ConnectorRegistry] = []

    def make(**overrides: Any) -> ConnectorRegistry:
        registry = build_connectors(simulator_settings(sim, **overrides))
        registries.append(registry)
        return registry

    yield make
    for registry in registries:
        await registry.close()


@pytest.fixture
def make_connector(
    make_registry: Callable[..., ConnectorRegistry], exchange_id: str
) -> Callable[..., Awaitable[CcxtConnector]]:
    async def make(**overrides: Any) -> CcxtConnector:
        connector = make_registry(**overrides).get(exchange_id)
        await connector.load_markets()
        assert isinstance(connector, CcxtConnector)
        return connector

    return make


@pytest.fixture
async def connector(make_connector: Callable[..., Awaitable[CcxtConnector]]) -> CcxtConnector:
    return await make_connector()
