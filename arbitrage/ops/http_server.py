"""The daemon's HTTP listener (off unless ARBITRAGE_HTTP_PORT is set): `/healthz`, `/readyz` and `/metrics`.

It runs on the daemon's own event loop, so a loop that is stuck also stops answering health checks. It binds
ARBITRAGE_HTTP_HOST (127.0.0.1 unless set): the metrics name exchanges and amounts, which need not be public.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.logging import get_logger
from arbitrage.ops.health import HealthChecks, Report
from arbitrage.ops.metrics import REGISTRY
from arbitrage.ops.state_collector import DaemonStateCollector
from arbitrage.scheduler import SubscriptionScheduler
from arbitrage.settings import Settings

log = get_logger(__name__)


class HttpListenError(Exception):
    """The listener could not bind its address; the message names the settings to change."""


class OpsHttpServer:
    def __init__(self, checks: HealthChecks, collector: DaemonStateCollector, host: str, port: int) -> None:
        self.checks = checks
        self.collector = collector
        self.host = host
        self.port = port  # asked 0 (any free port): the bound one once started
        self._state = CollectorRegistry(auto_describe=True)  # the scrape-time values, beside the module REGISTRY
        self._state.register(collector)
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.get("/healthz", self._healthz), web.get("/readyz", self._readyz),
                        web.get("/metrics", self._metrics)])
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self.app(), access_log=None)  # scrapes every few seconds would flood the log
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:  # port in use, unknown host, not allowed
            await runner.cleanup()
            # asyncio's text for a bind error repeats the address; a name lookup error (negative errno) has its own
            reason = os.strerror(error.errno) if error.errno and error.errno > 0 else error.strerror or str(error)
            raise HttpListenError(f"ARBITRAGE_HTTP_HOST/ARBITRAGE_HTTP_PORT: cannot listen on {self.host}:"
                                  f"{self.port}: {reason.lower()}") from None
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("http_listening", host=self.host, port=self.port, paths=["/healthz", "/readyz", "/metrics"])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return _report_response(await self.checks.health())

    async def _readyz(self, _request: web.Request) -> web.Response:
        return _report_response(self.checks.readiness())

    async def _metrics(self, _request: web.Request) -> web.Response:
        await self.collector.refresh()
        body = generate_latest(REGISTRY) + generate_latest(self._state)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _report_response(report: Report) -> web.Response:
    return web.Response(status=200 if report.ok else 503, text=json.dumps(report.as_json()),
                        content_type="application/json")


async def start_http_server(settings: Settings, db: Database, connectors: ConnectorRegistry,
                            scheduler: Callable[[], SubscriptionScheduler | None]) -> OpsHttpServer | None:
    """Listening on ARBITRAGE_HTTP_HOST:ARBITRAGE_HTTP_PORT, or None when no port is set."""
    if settings.http_port is None:
        return None
    server = OpsHttpServer(HealthChecks(settings, db, connectors, scheduler), DaemonStateCollector(db, connectors),
                           settings.http_host, settings.http_port)
    await server.start()
    return server
