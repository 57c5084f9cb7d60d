"""`arbitrage run` as a real process against the simulator: environment, start, log reading, subscriptions."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import Status
from arbitrage.simulator.server import SimulatorServer

BTC = "BTC/USDT:USDT"
ARBITRAGE = [sys.executable, "-m", "arbitrage"]


def daemon_env(sim: SimulatorServer, database_url: str, **extra: str) -> dict[str, str]:
    """The test process's environment without ARBITRAGE_* and systemd variables, the simulator's exchanges and
    short intervals."""
    inherited = {
        name: value for name, value in os.environ.items()
        if not name.startswith("ARBITRAGE_") and name not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
    }
    return {
        **inherited,
        **sim.env_vars(),
        "ARBITRAGE_DATABASE_URL": database_url,
        "ARBITRAGE_LOG_FORMAT": "json",
        "ARBITRAGE_LEAD_SECONDS": "2",
        "ARBITRAGE_LEVERAGE_SYNC_AHEAD_SECONDS": "1",
        "ARBITRAGE_POLL_INTERVAL_SECONDS": "0.2",
        "ARBITRAGE_FUNDING_CONFIRM_TIMEOUT_SECONDS": "10",
        "ARBITRAGE_EXCHANGES__BINGX__MIN_LEAD_SECONDS": "0",
        **extra,
    }


@dataclass
class LogFile:
    path: Path

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.startswith("{")]

    def events(self) -> list[str]:
        return [line["event"] for line in self.lines()]

    async def wait_for(self, event: str, timeout: float) -> float:
        """Until a line with this event is in the log; returns the event loop's time when it was seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while event not in self.events():
            tail = self.path.read_text()[-3000:] if self.path.exists() else ""
            assert loop.time() < deadline, f"no {event} line after {timeout} s: {tail}"
            await asyncio.sleep(0.05)
        return loop.time()


async def start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    """Start a process whose stderr (the JSON log) goes to a file: a full pipe would block its logging."""
    with log.open("ab") as handle:
        return await asyncio.create_subprocess_exec(*args, env=env, cwd=cwd, stderr=handle,
                                                    stdout=asyncio.subprocess.DEVNULL)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()


async def add_subscription(sim: SimulatorServer, database_url: str, funding_in: float) -> tuple[int, datetime]:
    """A SCHEDULED bybit short hedged on binanceusdm, funding in `funding_in` seconds (the simulator agrees)."""
    funding_ms = sim.engine.now() + int(funding_in * 1000)
    funding_ms -= funding_ms % 1000
    for exchange in ("bybit", "binanceusdm"):
        sim.engine.set_funding(exchange, BTC, next_funding_time=funding_ms)
    sim.engine.set_funding("bybit", BTC, rate=Decimal("0.0004"))
    funding_time = datetime.fromtimestamp(funding_ms / 1000, UTC)
    async with Database(database_url) as db, db.unit_of_work() as session:
        subscription = await repo.create_subscription(
            session, primary_exchange="bybit", primary_symbol=BTC, hedge_exchange="binanceusdm", hedge_symbol=BTC,
            side=Side.SHORT, amount=Decimal("0.01"), funding_time=funding_time, lead_seconds=2, leverage=3,
        )
        return subscription.id, funding_time


async def add_far_subscription(database_url: str, hours: float = 1) -> datetime:
    """A SCHEDULED row the daemon plans but does not reach during the test."""
    funding_time = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)
    async with Database(database_url) as db, db.unit_of_work() as session:
        await repo.create_subscription(
            session, primary_exchange="bybit", primary_symbol=BTC, hedge_exchange="binanceusdm", hedge_symbol=BTC,
            side=Side.SHORT, amount=Decimal("0.01"), funding_time=funding_time, lead_seconds=2, leverage=3,
        )
    return funding_time


async def wait_for_status(
    database_url: str, subscription_id: int, wanted: tuple[Status, ...], timeout: float
) -> Status:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with Database(database_url) as db:
        while True:
            async with db.unit_of_work() as session:
                status = (await repo.require_subscription(session, subscription_id)).status
            if status in wanted:
                return status
            assert loop.time() < deadline, f"subscription {subscription_id} still {status} after {timeout} s"
            await asyncio.sleep(0.1)
