"""What the ops tests share: the simulator's skewable clock, settings pointing at it, a scraped response, and the
pieces a listener is built from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.ops.http_server import OpsHttpServer
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
