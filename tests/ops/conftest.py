"""The ops HTTP listener on an ephemeral port, over a real database, real connectors against the simulator (whose
clock can be set off by some milliseconds) and a real scheduler."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.exchanges.factory import build_connectors
from arbitrage.ops.health import HealthChecks
from arbitrage.ops.http_server import OpsHttpServer
from arbitrage.ops.state_collector import DaemonStateCollector
from arbitrage.scheduler import SubscriptionScheduler
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import SendPlan
from arbitrage.settings import Settings
from arbitrage.simulator.server import SimulatorServer

EXCHANGES = ("binanceusdm", "bybit")


@dataclass
class SkewedClock:
    """The simulator's clock: wall time plus `offset_ms`."""

    offset_ms: int = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


@pytest.fixture
def sim_clock() -> SkewedClock:
    return SkewedClock()


@pytest.fixture
async def sim(sim_clock: SkewedClock) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=None, clock=sim_clock) as server:
        yield server


def settings_for(sim: SimulatorServer, database_url: str, **overrides: Any) -> Settings:
    exchanges = {}
    for exchange_id in EXCHANGES:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"base_url": sim.base_url(exchange_id), "api_key": api_key, "secret": secret}
    return Settings(_env_file=None, database_url=database_url, exchanges=exchanges, **overrides)  # type: ignore[call-arg]


@dataclass
class Scrape:
    status: int
    body: str
    json: Any = None
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}


@dataclass
class Ops:
    settings: Settings
    db: Database
    connectors: ConnectorRegistry
    server: OpsHttpServer
    scheduler: SubscriptionScheduler | None = None

    async def get(self, path: str) -> Scrape:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{self.server.port}{path}") as response:
                body = await response.text()
                scrape = Scrape(response.status, body)
                if response.content_type == "application/json":
                    scrape.json = await response.json()
                elif path == "/metrics":
                    for family in text_string_to_metric_families(body):
                        for sample in family.samples:
                            scrape.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
                return scrape

    async def load_markets_and_clocks(self) -> None:
        for connector in self.connectors.connectors.values():
            await connector.load_markets()
            await connector.measure_clock_offset()

    async def start_scheduler(self) -> SubscriptionScheduler:
        async def no_pipeline(_subscription_id: int) -> None:
            return None

        plan = SendPlan(PipelineConfig.from_settings(self.settings))
        self.scheduler = SubscriptionScheduler(self.db, no_pipeline, plan, poll_interval_seconds=60)
        await self.scheduler.start()
        return self.scheduler


@pytest.fixture
async def make_ops(sim: SimulatorServer, tmp_path: Any) -> AsyncIterator[Callable[..., Awaitable[Ops]]]:
    """`await make_ops(database_url=None, **settings)`: a listener on a free port; everything is closed after."""
    made: list[Ops] = []

    async def make(database_url: str | None = None, *, migrate: bool = True, **overrides: Any) -> Ops:
        url = database_url or f"sqlite:///{tmp_path / f'ops{len(made)}.sqlite'}"
        if migrate:
            await upgrade_to_head(url)
        settings = settings_for(sim, url, **overrides)
        db = Database(url)
        connectors = build_connectors(settings)
        ops = Ops(settings, db, connectors, server=None)  # type: ignore[arg-type]
        checks = HealthChecks(settings, db, connectors, lambda: ops.scheduler, database_timeout_seconds=1)
        ops.server = OpsHttpServer(checks, DaemonStateCollector(db, connectors, refresh_timeout_seconds=1),
                                   "127.0.0.1", 0)
        await ops.server.start()
        made.append(ops)
        return ops

    yield make
    for ops in made:
        await ops.server.stop()
        if ops.scheduler is not None:
            await ops.scheduler.shutdown()
        await ops.connectors.close()
        await ops.db.dispose()
