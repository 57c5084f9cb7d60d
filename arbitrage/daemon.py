"""The only place that wires things together: settings → database → connectors → services → scheduler.

Runs until SIGTERM or SIGINT (or `stop` is set): then it starts no new pipeline, lets in-flight exchange calls
finish and persist their outcome, closes every ccxt client and returns. Open positions are never abandoned:
their rows stay OPEN and the next start resumes them.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress

from arbitrage.db.startup import ready_database
from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import get_logger
from arbitrage.scheduler import SubscriptionScheduler
from arbitrage.services.account_modes import detect_position_modes
from arbitrage.services.bad_rows import BadRowReporter
from arbitrage.services.exchange_clocks import measure_clock
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.pipeline import Pipeline
from arbitrage.services.position_audit import audit_positions
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import SendPlan, order_windows
from arbitrage.settings import Settings

log = get_logger(__name__)

MARKETS_JOB_ID = "refresh-markets"


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.scheduler: SubscriptionScheduler | None = None
        self._position_modes: asyncio.Task[object] | None = None
        self._audit: asyncio.Task[None] | None = None

    async def run(self) -> None:
        settings = self.settings
        async with ready_database(settings.database_url):  # first of all: a second daemon stops here, then migrate
            db = Database(settings.database_url)
            connectors = build_connectors(settings)
            try:
                await _load_markets(connectors)
                markets = await self._market_catalog(db, connectors)
                # Positions no subscription explains are reported, never traded; in the background, off the start.
                self._audit = asyncio.create_task(self._audit_positions(db, connectors), name="audit-positions")
                config = PipelineConfig.from_settings(settings)
                plan = SendPlan(config, order_windows(settings.rate_limit_scales()))
                pipeline = Pipeline(db, connectors, markets, config, self.stop, plan)
                self.scheduler = SubscriptionScheduler(db, pipeline.run, plan, settings.poll_interval_seconds,
                                                       BadRowReporter(pipeline.journal))
                await self._register_periodic_jobs(markets)
                await self.scheduler.start()
                log.info("daemon_started", exchanges=sorted(connectors.connectors), database=db.engine.url.render_as_string())
                await self.stop.wait()
                log.info("daemon_stopping")
                await self.scheduler.shutdown()
            finally:
                if self._audit is not None and not self._audit.done():
                    self._audit.cancel()
                    await asyncio.gather(self._audit, return_exceptions=True)
                await connectors.close()
                await db.dispose()
                log.info("daemon_stopped")

    async def _audit_positions(self, db: Database, connectors: ConnectorRegistry) -> None:
        try:
            await audit_positions(db, connectors)
        except Exception:  # a report only: it must never stop the daemon
            log.exception("positions_audit_failed")

    async def _market_catalog(self, db: Database, connectors: ConnectorRegistry) -> CachedMarketCatalog:
        """The symbol_filters cache, refreshed now (markets were just loaded). Each account's position mode is read
        in the background: with ccxt's throttle MEXC's first call after contract/detail waits ~5 s, which need not
        delay the start (an order needing the mode before it is known reads it itself)."""
        catalog = CachedMarketCatalog(db, connectors)
        self._position_modes = asyncio.create_task(detect_position_modes(connectors), name="detect-position-modes")
        await catalog.refresh(reload=False)
        return catalog

    async def _register_periodic_jobs(self, markets: CachedMarketCatalog) -> None:
        """Market metadata refresh every ARBITRAGE_MARKETS_REFRESH_MINUTES."""
        if self.scheduler is not None:
            self.scheduler.add_periodic(markets.refresh_job, self.settings.markets_refresh_minutes, MARKETS_JOB_ID)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError):  # not on every platform
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        log.info("signal_received", signal=signal.Signals(signum).name)
        self.stop.set()


async def _load_markets(connectors: ConnectorRegistry) -> None:
    """Load every exchange's markets once, concurrently, and measure its clock. An exchange that fails now is
    retried on first use."""
    async def load(exchange_id: str) -> None:
        connector = connectors.get(exchange_id)
        try:
            await connector.load_markets()
            log.info("markets_loaded", exchange=exchange_id)
        except ExchangeError as error:  # logged and retried later; one venue down must not stop the others
            if error.retryable:  # no (usable) answer: name the exchange and what to check
                log.error("exchange_unreachable_at_start", exchange=exchange_id, error=error.user_message,
                          hint=f"check the network and ARBITRAGE_EXCHANGES__{exchange_id.upper()}__BASE_URL; "
                          "it is tried again on first use")
            else:
                log.error("markets_load_failed", exchange=exchange_id, error=error.user_message)
        except Exception as error:  # logged and retried later; one venue down must not stop the others
            log.error("markets_load_failed", exchange=exchange_id, error=str(error))
        await measure_clock(exchange_id, connector)

    await asyncio.gather(*(load(exchange_id) for exchange_id in connectors.connectors))


async def run_daemon(settings: Settings) -> None:
    daemon = Daemon(settings)
    daemon.install_signal_handlers()
    await daemon.run()
