"""The only place that wires things together: settings → database → connectors → services → scheduler.

Runs until SIGTERM or SIGINT (or `stop` is set): then it starts no new pipeline, lets in-flight exchange calls
finish and persist their outcome, closes every ccxt client and returns. Open positions are never abandoned:
their rows stay OPEN and the next start resumes them.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress

from arbitrage.db.daemon_lock import daemon_lock
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import get_logger
from arbitrage.scheduler import SubscriptionScheduler
from arbitrage.services.account_modes import detect_position_modes
from arbitrage.services.exchange_clocks import ExchangeClocks
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.pipeline import Pipeline
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import SendPlan, order_windows
from arbitrage.settings import Settings

log = get_logger(__name__)

MARKETS_JOB_ID = "refresh-markets"
CLOCKS_JOB_ID = "measure-clocks"


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.scheduler: SubscriptionScheduler | None = None
        self._position_modes: asyncio.Task[object] | None = None
        self.clocks: ExchangeClocks | None = None  # each exchange's last clock offset (health, metrics)

    async def run(self) -> None:
        settings = self.settings
        async with daemon_lock(settings.database_url):  # first of all: a second daemon stops here, before migrating
            await upgrade_to_head(settings.database_url)
            db = Database(settings.database_url)
            connectors = build_connectors(settings)
            self.clocks = ExchangeClocks(connectors)
            try:
                await _load_markets(connectors, self.clocks)
                markets = await self._market_catalog(db, connectors)
                config = PipelineConfig.from_settings(settings, self.clocks)
                plan = SendPlan(config, order_windows(settings.rate_limit_scales()))
                pipeline = Pipeline(db, connectors, markets, config, self.stop, plan)
                self.scheduler = SubscriptionScheduler(db, pipeline.run, plan, settings.poll_interval_seconds)
                await self._register_periodic_jobs(markets, self.clocks)
                await self.scheduler.start()
                log.info("daemon_started", exchanges=sorted(connectors.connectors), database=db.engine.url.render_as_string())
                await self.stop.wait()
                log.info("daemon_stopping")
                await self.scheduler.shutdown()
            finally:
                await connectors.close()
                await db.dispose()
                log.info("daemon_stopped")

    async def _market_catalog(self, db: Database, connectors: ConnectorRegistry) -> CachedMarketCatalog:
        """The symbol_filters cache, refreshed now (markets were just loaded). Each account's position mode is read
        in the background: with ccxt's throttle MEXC's first call after contract/detail waits ~5 s, which need not
        delay the start (an order needing the mode before it is known reads it itself)."""
        catalog = CachedMarketCatalog(db, connectors)
        self._position_modes = asyncio.create_task(detect_position_modes(connectors), name="detect-position-modes")
        await catalog.refresh(reload=False)
        return catalog

    async def _register_periodic_jobs(self, markets: CachedMarketCatalog, clocks: ExchangeClocks) -> None:
        """Market metadata refresh every ARBITRAGE_MARKETS_REFRESH_MINUTES, clocks every
        ARBITRAGE_CLOCK_CHECK_MINUTES."""
        if self.scheduler is not None:
            self.scheduler.add_periodic(markets.refresh_job, self.settings.markets_refresh_minutes, MARKETS_JOB_ID)
            self.scheduler.add_periodic(clocks.measure_all, self.settings.clock_check_minutes, CLOCKS_JOB_ID)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError):  # not on every platform
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        log.info("signal_received", signal=signal.Signals(signum).name)
        self.stop.set()


async def _load_markets(connectors: ConnectorRegistry, clocks: ExchangeClocks) -> None:
    """Load every exchange's markets once, concurrently, and measure its clock. An exchange that fails now is
    retried on first use (its clock before anything opens on it)."""
    async def load(exchange_id: str) -> None:
        connector = connectors.get(exchange_id)
        try:
            await connector.load_markets()
            log.info("markets_loaded", exchange=exchange_id)
        except Exception as error:  # logged and retried later; one venue down must not stop the others
            log.error("markets_load_failed", exchange=exchange_id, error=str(error))
        await clocks.measure(exchange_id)

    await asyncio.gather(*(load(exchange_id) for exchange_id in connectors.connectors))


async def run_daemon(settings: Settings) -> None:
    daemon = Daemon(settings)
    daemon.install_signal_handlers()
    await daemon.run()
