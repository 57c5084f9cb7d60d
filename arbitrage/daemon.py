"""The only place that wires things together: settings → database → connectors → services → scheduler.

Runs until SIGTERM or SIGINT (or `stop` is set): then it starts no new pipeline, lets in-flight exchange calls
finish and persist their outcome, closes every ccxt client and returns. Open positions are never abandoned:
their rows stay OPEN and the next start resumes them.

As a hot standby (`standby=True`) it loads markets first and then waits for the database's daemon lock; once the
holder is gone it starts like any daemon (the lock is what keeps two from trading). Under systemd it reports
READY/STATUS/STOPPING and pings the watchdog (arbitrage/ops/systemd.py).
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress
from functools import partial

from arbitrage.db.daemon_lock import DaemonLockLost, LockWait, LockWaitCancelled, LockWatch
from arbitrage.db.startup import ready_database
from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import get_logger
from arbitrage.ops.alerts import start_alerts
from arbitrage.ops.http_server import OpsHttpServer, start_http_server
from arbitrage.ops.service_status import read_summary
from arbitrage.ops.systemd import SystemdNotifier, read_status
from arbitrage.scheduler import SubscriptionScheduler
from arbitrage.services.account_modes import detect_position_modes
from arbitrage.services.auto_subscribe import AutoSubscriber, OpportunitySource
from arbitrage.services.bad_rows import BadRowReporter
from arbitrage.services.exchange_clocks import ExchangeClocks
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.pipeline import Pipeline
from arbitrage.services.position_audit import audit_positions
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import SendPlan, order_windows
from arbitrage.services.scanner import scan_opportunities
from arbitrage.settings import Settings

log = get_logger(__name__)

MARKETS_JOB_ID = "refresh-markets"
CLOCKS_JOB_ID = "measure-clocks"
AUTO_JOB_ID = "auto-subscribe"
# How often a standby re-measures the exchanges' clocks while it waits (a few public requests per exchange).
STANDBY_CLOCK_SECONDS = 60


class Daemon:
    def __init__(self, settings: Settings, opportunity_source: OpportunitySource | None = None, *,
                 standby: bool = False, systemd: SystemdNotifier | None = None) -> None:
        self.settings = settings
        self.opportunity_source = opportunity_source  # auto-subscribe's scanner (tests pass their own)
        self.http: OpsHttpServer | None = None
        self.standby = standby
        self.systemd = systemd or SystemdNotifier(None)
        self.stop = asyncio.Event()
        self.scheduler: SubscriptionScheduler | None = None
        self._position_modes: asyncio.Task[object] | None = None
        self._lock_lost: str | None = None
        self._audit: asyncio.Task[None] | None = None
        self.clocks: ExchangeClocks | None = None  # each exchange's last clock offset (health, metrics)

    async def run(self) -> None:
        settings = self.settings
        watchdog = asyncio.create_task(self.systemd.watchdog_loop(), name="systemd-watchdog")
        connectors: ConnectorRegistry | None = None
        keep_warm: asyncio.Task[None] | None = None
        started = False
        try:
            if self.standby:  # connected and markets loaded before waiting: taking over costs only the lock
                connectors = build_connectors(settings)
                await self._stand_by(connectors)
                keep_warm = asyncio.create_task(self._keep_warm(connectors), name="standby-keep-warm")
            watch = LockWatch(settings.lock_poll_seconds, self._on_lock_lost)
            # first of all: a second daemon stops (or a standby waits) here, before migrating
            async with ready_database(settings.database_url, self._lock_wait(), watch):  # then the schema
                started = True
                await _cancel(keep_warm)
                db = Database(settings.database_url)
                fresh = connectors is None
                if connectors is None:
                    connectors = build_connectors(settings)
                try:
                    self.http = await start_http_server(settings, db, connectors, lambda: self.scheduler)  # None: off
                    if fresh:
                        await _load_markets(connectors)
                    await self._serve(db, connectors)
                finally:
                    if self.http is not None:
                        await self.http.stop()
                    await connectors.close()
                    connectors = None
                    await db.dispose()
        except LockWaitCancelled:
            log.info("standby_stopped")
        finally:
            await _cancel(keep_warm)
            if connectors is not None:  # a standby stopped before it took over
                await connectors.close()
            self.systemd.stopping("stopped")  # a no-op if STOPPING=1 went out already
            await _cancel(watchdog)
            self.systemd.close()
            if started or self.standby:  # a start refused at the database is one error line, nothing else
                log.info("daemon_stopped")
        if self._lock_lost is not None:
            raise DaemonLockLost(f"{self._lock_lost}; stopped (another daemon may be trading this database now)")

    async def _serve(self, db: Database, connectors: ConnectorRegistry) -> None:
        """From loaded markets to the scheduler running, until `stop`; then let running pipelines finish."""
        settings = self.settings
        markets = await self._market_catalog(db, connectors)
        # Positions no subscription explains are reported, never traded; in the background, off the start.
        self._audit = asyncio.create_task(self._audit_positions(db, connectors), name="audit-positions")
        self.clocks = ExchangeClocks(connectors)
        config = PipelineConfig.from_settings(settings, self.clocks)
        plan = SendPlan(config, order_windows(settings.rate_limit_scales()))
        pipeline = Pipeline(db, connectors, markets, config, self.stop, plan)
        alerts = start_alerts(settings, pipeline.journal)  # off the trading path: a queue and a task
        self.scheduler = SubscriptionScheduler(db, pipeline.run, plan, settings.poll_interval_seconds,
                                               BadRowReporter(pipeline.journal))
        await self._register_periodic_jobs(markets, self.clocks)
        self._register_auto_subscribe(db, connectors, markets)
        await self.scheduler.start()
        log.info("daemon_started", exchanges=sorted(connectors.connectors), database=db.engine.url.render_as_string())
        status = partial(read_summary, db)
        if self.systemd.enabled:
            self.systemd.ready(await read_status(status))
        status_task = asyncio.create_task(self.systemd.status_loop(status, settings.poll_interval_seconds))
        await self.stop.wait()
        await _cancel(status_task)
        self.systemd.stopping(f"stopping: {len(self.scheduler.running)} subscription(s) finishing their step")
        log.info("daemon_stopping")
        await self.scheduler.shutdown()
        await _cancel(self._audit)
        await alerts.close()  # the last status changes' alerts get a few seconds to go out

    def _on_lock_lost(self, reason: str) -> None:
        """Stop at once: whoever holds the lock now may resume the same subscriptions. A loss noticed while already
        stopping (asked to) is only logged (daemon_lock_lost): the exit code stays that of the requested stop."""
        if not self.stop.is_set():
            self._lock_lost = reason
            self.stop.set()

    def _lock_wait(self) -> LockWait | None:
        if not self.standby:
            return None
        return LockWait(self.settings.lock_poll_seconds, self.stop)

    async def _stand_by(self, connectors: ConnectorRegistry) -> None:
        await _load_markets(connectors)
        log.info("standby_ready", exchanges=sorted(connectors.connectors))
        self.systemd.ready("standby: markets loaded, waiting for the database lock")

    async def _keep_warm(self, connectors: ConnectorRegistry) -> None:
        """While a standby waits: clock offsets re-measured every minute, markets reloaded every
        ARBITRAGE_MARKETS_REFRESH_MINUTES, so that a takeover hours later starts from fresh data."""
        loop = asyncio.get_running_loop()
        markets_due = loop.time() + self.settings.markets_refresh_minutes * 60
        while True:
            await asyncio.sleep(STANDBY_CLOCK_SECONDS)
            if loop.time() >= markets_due:
                markets_due = loop.time() + self.settings.markets_refresh_minutes * 60
                await _load_markets(connectors, reload=True)
            else:
                await ExchangeClocks(connectors).measure_all()

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

    async def _register_periodic_jobs(self, markets: CachedMarketCatalog, clocks: ExchangeClocks) -> None:
        """Market metadata refresh every ARBITRAGE_MARKETS_REFRESH_MINUTES, clocks every
        ARBITRAGE_CLOCK_CHECK_MINUTES."""
        if self.scheduler is not None:
            self.scheduler.add_periodic(markets.refresh_job, self.settings.markets_refresh_minutes, MARKETS_JOB_ID)
            self.scheduler.add_periodic(clocks.measure_all, self.settings.clock_check_minutes, CLOCKS_JOB_ID)

    def _register_auto_subscribe(self, db: Database, connectors: ConnectorRegistry,
                                 markets: CachedMarketCatalog) -> None:
        """With ARBITRAGE_AUTO__ENABLED: scan ARBITRAGE_AUTO__SCAN_AHEAD_SECONDS before each hour."""
        auto = self.settings.auto
        if not auto.enabled or self.scheduler is None:
            return
        if self.opportunity_source is None:
            log.error("auto_subscribe_unavailable", reason="no opportunity source (the scanner) is installed")
            return
        subscriber = AutoSubscriber(db, connectors, markets, self.settings, self.opportunity_source)
        self.scheduler.add_before_each_hour(subscriber.run, auto.scan_ahead_seconds, AUTO_JOB_ID)
        log.info("auto_subscribe_enabled", scan_ahead_seconds=auto.scan_ahead_seconds,
                 min_net_bps=str(auto.min_net_bps), notional_usdt=str(auto.notional_usdt))

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError):  # not on every platform
                loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        log.info("signal_received", signal=signal.Signals(signum).name)
        self.stop.set()


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _load_markets(connectors: ConnectorRegistry, reload: bool = False) -> None:
    """Load every exchange's markets once, concurrently, and measure its clock. An exchange that fails now is
    retried on first use (its clock before anything opens on it)."""
    async def load(exchange_id: str) -> None:
        connector = connectors.get(exchange_id)
        try:
            await connector.load_markets(reload=reload)
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
        await ExchangeClocks(connectors).measure(exchange_id)

    await asyncio.gather(*(load(exchange_id) for exchange_id in connectors.connectors))


async def run_daemon(settings: Settings, *, standby: bool = False) -> None:
    # auto-subscribe scans with the real scanner
    daemon = Daemon(settings, scan_opportunities, standby=standby, systemd=SystemdNotifier.from_environment())
    daemon.install_signal_handlers()
    await daemon.run()
