"""What `/healthz` and `/readyz` answer: named checks over the running daemon's own pieces.

Healthy: the database answers a `SELECT 1` within a short timeout, every configured exchange has its markets
loaded, the scheduler runs, and every exchange's last measured clock offset is within
`ARBITRAGE_MAX_CLOCK_SKEW_MS`. Ready: start-up is done (markets loaded, scheduler started). Details are one line
each, passed through the log redactor: never a credential.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy import text

from arbitrage.db.session import Database
from arbitrage.exchanges.ccxt_connector import UNMEASURED_CLOCK
from arbitrage.exchanges.connector import ClockOffset, ConnectorRegistry, ExchangeConnector
from arbitrage.logging import redact_text
from arbitrage.scheduler import SubscriptionScheduler
from arbitrage.settings import Settings

# A database that takes longer than this for SELECT 1 counts as not answering.
DATABASE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str  # "database", "scheduler", "markets:<exchange>", "clock:<exchange>"
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "failing", "failed": self.failed,
                "checks": [check.as_json() for check in self.checks]}


def measured_clock(connector: ExchangeConnector) -> ClockOffset | None:
    """The connector's last measured clock offset; None until one has been measured."""
    clock = getattr(connector, "clock", None)
    return None if clock is None or clock is UNMEASURED_CLOCK else clock


class HealthChecks:
    def __init__(self, settings: Settings, db: Database, connectors: ConnectorRegistry,
                 scheduler: Callable[[], SubscriptionScheduler | None],
                 database_timeout_seconds: float = DATABASE_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.db = db
        self.connectors = connectors
        self._scheduler = scheduler  # the daemon builds it after the server starts
        self.database_timeout_seconds = database_timeout_seconds

    async def health(self) -> Report:
        checks = [await self.database(), self.scheduler(), *self.markets(), *self.clocks()]
        return Report(checks)

    def readiness(self) -> Report:
        return Report([*self.markets(), self.scheduler()])

    async def database(self) -> Check:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._select_one(), self.database_timeout_seconds)
        except TimeoutError:
            return Check("database", False, f"no answer to SELECT 1 within {self.database_timeout_seconds:g} s")
        except Exception as error:  # whatever the driver raises, the answer is "not reachable"
            return Check("database", False, _one_line(error))
        return Check("database", True, f"SELECT 1 answered in {(time.perf_counter() - started) * 1000:.0f} ms")

    async def _select_one(self) -> None:
        async with self.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    def scheduler(self) -> Check:
        scheduler = self._scheduler()
        if scheduler is None:
            return Check("scheduler", False, "not started yet")
        if scheduler.scheduler.state != STATE_RUNNING:
            return Check("scheduler", False, "stopped or paused (shutting down)")
        return Check("scheduler", True, "running")

    def markets(self) -> list[Check]:
        return [
            Check(f"markets:{exchange_id}", True, "loaded") if connector.markets_loaded
            else Check(f"markets:{exchange_id}", False, "markets are not loaded (retried on first use)")
            for exchange_id, connector in sorted(self.connectors.connectors.items())
        ]

    def clocks(self) -> list[Check]:
        limit = self.settings.max_clock_skew_ms
        checks = []
        for exchange_id, connector in sorted(self.connectors.connectors.items()):
            clock = measured_clock(connector)
            name = f"clock:{exchange_id}"
            if clock is None:
                checks.append(Check(name, False, "clock offset not measured yet"))
                continue
            measured = f"offset {clock.offset_ms:+.0f} ms (±{clock.uncertainty_ms:.0f} ms)"
            if abs(clock.offset_ms) > limit:
                checks.append(Check(name, False, f"{measured} exceeds ARBITRAGE_MAX_CLOCK_SKEW_MS={limit}; "
                                                 "sync the local clock (NTP)"))
            else:
                checks.append(Check(name, True, measured))
        return checks


def _one_line(error: BaseException) -> str:
    text_ = (str(error).strip().splitlines() or [""])[0][:200]
    return redact_text(f"{type(error).__name__}: {text_}" if text_ else type(error).__name__)
