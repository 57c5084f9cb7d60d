"""One measured funding cycle: N subscriptions through the real daemon (child process) against the simulator.

The subscriptions are written to a scratch database (a SQLite file, or PostgreSQL) once the daemon is up, with
funding times a few seconds ahead (all the same, or staggered); the cycle ends when every one of them is
finished. What the simulator received (the request log) and what the daemon stored (subscriptions, orders,
events) are returned for analysis.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from arbitrage.db import repository as repo
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.models import Order, Subscription, SubscriptionEvent
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import Status, is_terminal
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.settings import Settings, load_settings
from arbitrage.simulator.requestlog import RequestRecord
from arbitrage.simulator.server import SimulatorServer

from benchmarks.common import ChildFailed, ChildProcess, exchange_settings, order_arrivals, prepare_simulator

# The shipped default (5 s): orders go out 5 s before the funding time, and nothing may go out later than the
# entry deadline (1 s before it). A shorter lead would leave the daemon less time than users give it.
DEFAULT_LEAD_SECONDS: int = Settings.model_fields["lead_seconds"].default
POLL_INTERVAL_SECONDS = 0.2  # how soon the daemon's scheduler sees the new rows
FUNDING_CONFIRM_TIMEOUT_SECONDS = 10
# Positive funding pays shorts, negative pays longs: the primary of each template always earns.
SHORT_EARNS = {"binanceusdm": Decimal("0.0004"), "bingx": Decimal("0.0004")}
LONG_EARNS = {"bybit": Decimal("-0.0004"), "mexc": Decimal("-0.0004")}
AMOUNTS = {"BTC/USDT:USDT": Decimal("0.01"), "ETH/USDT:USDT": Decimal("0.1"), "SOL/USDT:USDT": Decimal("1")}


@dataclass(frozen=True)
class Template:
    primary: str
    hedge: str
    side: Side
    symbol: str

    @property
    def amount(self) -> Decimal:
        return AMOUNTS[self.symbol]


def mixed_templates() -> list[Template]:
    """Every short-earning venue against every long-earning one, both ways round, on BTC, ETH and SOL.

    Each (exchange, symbol) only ever holds one direction (binanceusdm and bingx short, bybit and mexc long), so
    subscriptions that share an account's position net in the same direction, as one-way accounts require.
    Ordered so that the first eight are eight different venue pairs.
    """
    pairs = [
        (short, long_, side)
        for short in SHORT_EARNS
        for long_ in LONG_EARNS
        for side in (Side.SHORT, Side.LONG)
    ]
    templates = []
    for symbol in AMOUNTS:
        for short, long_, side in pairs:
            primary, hedge = (short, long_) if side is Side.SHORT else (long_, short)
            templates.append(Template(primary, hedge, side, symbol))
    return templates


SHARED_TEMPLATE = Template("binanceusdm", "bybit", Side.SHORT, "BTC/USDT:USDT")


def isolated_templates() -> list[Template]:
    """Six subscriptions that share no (exchange, symbol), so each can have its own funding time: two disjoint
    venue pairs per symbol, each venue primary and hedge, long and short."""
    return [
        Template("binanceusdm", "bybit", Side.SHORT, "BTC/USDT:USDT"),
        Template("mexc", "bingx", Side.LONG, "BTC/USDT:USDT"),
        Template("bybit", "binanceusdm", Side.LONG, "ETH/USDT:USDT"),
        Template("bingx", "mexc", Side.SHORT, "ETH/USDT:USDT"),
        Template("binanceusdm", "mexc", Side.SHORT, "SOL/USDT:USDT"),
        Template("bybit", "bingx", Side.LONG, "SOL/USDT:USDT"),
    ]


@dataclass(frozen=True)
class CyclePlan:
    name: str
    templates: Sequence[Template]  # subscription i uses templates[i % len(templates)]
    count: int
    track_memory: bool = False
    database: str = "sqlite"  # or a PostgreSQL server URL: a scratch database is created on it and dropped
    # Subscription i's funding time (and trigger) is i × stagger after the first: each trigger alone. Needs
    # templates that share no (exchange, symbol), since a venue has one funding time per symbol.
    stagger_seconds: float = 0.0
    lead_seconds: int = DEFAULT_LEAD_SECONDS

    def __post_init__(self) -> None:
        if self.stagger_seconds and self.count > 1:
            used = [(venue, t.symbol) for t in self.templates[: self.count] for venue in (t.primary, t.hedge)]
            if len(self.templates) < self.count or len(set(used)) != len(used):
                raise ValueError("staggered subscriptions need one template each, sharing no (exchange, symbol)")

    @property
    def leverage_sync_ahead_seconds(self) -> int:
        """Preparation (two status commits, funding rates, set + read back leverage on both venues) must be over
        before the (first) trigger, or it would be measured as trigger delay. A loaded 2-core machine prepares
        about 20 subscriptions a second (3 to 7 under tracemalloc); the margin keeps the run valid when it is
        busier."""
        if self.stagger_seconds:
            return 1 + math.ceil(self.stagger_seconds * (self.count - 1))
        per_second = 15 if not self.track_memory else 3
        return 1 + math.ceil((self.count - 1) / per_second)

    def funding_offset_ms(self, index: int) -> int:
        return round(self.stagger_seconds * index * 1000)


@dataclass
class CycleRun:
    plan: CyclePlan
    config: PipelineConfig
    subscriptions: list[Subscription]
    orders: dict[int, list[Order]]
    events: dict[int, list[SubscriptionEvent]]
    arrivals: dict[str, int]  # client order id → received_ns at the simulator
    requests: list[RequestRecord]
    memory: dict[str, Any]
    memory_at_ready: dict[str, Any]
    wall_seconds: float
    cpu_seconds: dict[str, float | None] = field(default_factory=dict)  # from the daemon's start to its stop


def settings_values(sim: SimulatorServer, database_url: str, plan: CyclePlan) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "exchanges": exchange_settings(sim),
        "lead_seconds": plan.lead_seconds,
        "leverage_sync_ahead_seconds": plan.leverage_sync_ahead_seconds,
        "poll_interval_seconds": POLL_INTERVAL_SECONDS,
        "funding_confirm_timeout_seconds": FUNDING_CONFIRM_TIMEOUT_SECONDS,
        "order_timeout_seconds": 10,
        "log_format": "json",
        "log_level": "INFO",
    }


async def run_cycle(plan: CyclePlan, profile_dir: Path | None = None) -> CycleRun:
    """One cycle; with `profile_dir`, the daemon's event loop is profiled into `<profile_dir>/<plan.name>.pstats`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    profile = str(profile_dir.resolve() / f"{plan.name}.pstats") if profile_dir is not None else None
    with tempfile.TemporaryDirectory(prefix="arbitrage-bench-") as directory:
        async with scratch_database(plan.database, Path(directory)) as database_url:
            await upgrade_to_head(database_url)
            run = await _run_against_simulator(plan, database_url, Path(directory) / "daemon.log", profile)
    run.wall_seconds = round(loop.time() - started, 2)
    return run


async def _run_against_simulator(
    plan: CyclePlan, database_url: str, log_path: Path, profile_path: str | None
) -> CycleRun:
    async with SimulatorServer() as sim:
        prepare_simulator(sim)
        values = settings_values(sim, database_url, plan)
        config = PipelineConfig.from_settings(load_settings(None, **values))
        child = await ChildProcess.start(
            {"mode": "daemon", "settings": values, "track_memory": plan.track_memory, "profile_path": profile_path},
            log_path,
        )
        database = Database(database_url)
        try:
            simulator_cpu = _cpu_seconds()
            ids = await _subscribe(sim, database, plan)
            await _wait_until_finished(database, ids, child, timeout=_cycle_timeout(plan))
            memory = await child.stop()
            simulator_cpu = round(_cpu_seconds() - simulator_cpu, 2)
            run = await _collect(plan, config, database, ids, sim)
        except BaseException:
            child.kill()
            raise
        finally:
            await database.dispose()
    run.memory, run.memory_at_ready = memory, child.ready
    run.cpu_seconds = {"daemon": memory.pop("cpu_s_after_start", None), "simulator_process": simulator_cpu}
    return run


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@asynccontextmanager
async def scratch_database(kind: str, directory: Path) -> AsyncIterator[str]:
    """A SQLite file in `directory`, or a fresh database on the PostgreSQL server `kind` (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'bench.sqlite'}"
        return
    server = make_url(kind).set(drivername="postgresql")
    name = f"arbitrage_bench_{os.getpid()}_{directory.name.rsplit('-', 1)[-1].lower()}"
    admin = server.render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin, timeout=5)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(admin, timeout=5)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def _cycle_timeout(plan: CyclePlan) -> float:
    spread = plan.funding_offset_ms(plan.count - 1) / 1000
    until_last_funding = plan.leverage_sync_ahead_seconds + plan.lead_seconds + spread
    return until_last_funding + FUNDING_CONFIRM_TIMEOUT_SECONDS + 30 + plan.count / 5


async def _subscribe(sim: SimulatorServer, database: Database, plan: CyclePlan) -> list[int]:
    """The (first) funding time is far enough ahead for the scheduler to see the rows and for the leverage sync to
    finish before the trigger; each venue's next funding is moved to its subscription's funding time."""
    ahead_ms = int((POLL_INTERVAL_SECONDS + 0.5 + plan.leverage_sync_ahead_seconds + plan.lead_seconds) * 1000)
    first_ms = sim.engine.now() + ahead_ms
    first_ms += 1000 - first_ms % 1000  # whole seconds, as exchanges stamp them
    for exchange_id, venue in sim.engine.venues.items():
        rate = SHORT_EARNS.get(exchange_id, LONG_EARNS.get(exchange_id))
        for symbol in venue.instruments:
            sim.engine.set_funding(exchange_id, symbol, rate=rate, next_funding_time=first_ms)
    async with database.unit_of_work() as session:
        created = []
        for index in range(plan.count):
            template = plan.templates[index % len(plan.templates)]
            funding_ms = first_ms + plan.funding_offset_ms(index)
            for exchange_id in (template.primary, template.hedge):
                sim.engine.set_funding(exchange_id, template.symbol, next_funding_time=funding_ms)
            created.append(await repo.create_subscription(
                session, primary_exchange=template.primary, primary_symbol=template.symbol,
                hedge_exchange=template.hedge, hedge_symbol=template.symbol, side=template.side,
                amount=template.amount, funding_time=datetime.fromtimestamp(funding_ms / 1000, UTC),
                lead_seconds=plan.lead_seconds, leverage=3,
            ))
    return [subscription.id for subscription in created]


async def _wait_until_finished(database: Database, ids: list[int], child: ChildProcess, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    wanted = set(ids)
    while True:
        async with database.unit_of_work() as session:
            rows = await repo.list_subscriptions(session)
        statuses = {row.id: row.status for row in rows if row.id in wanted}
        if all(is_terminal(status) or status is Status.NEEDS_ATTENTION for status in statuses.values()):
            return
        if not child.alive:
            raise ChildFailed("the daemon exited before the subscriptions finished" + child.log_tail())
        if loop.time() > deadline:
            counts = {str(status): list(statuses.values()).count(status) for status in set(statuses.values())}
            raise ChildFailed(f"subscriptions still running after {timeout:g} s: {counts}" + child.log_tail())
        await asyncio.sleep(0.25)


async def _collect(
    plan: CyclePlan, config: PipelineConfig, database: Database, ids: list[int], sim: SimulatorServer
) -> CycleRun:
    async with database.unit_of_work() as session:
        subscriptions = [await repo.require_subscription(session, i) for i in ids]
        orders = {i: list(await repo.orders_for(session, i)) for i in ids}
        events = {i: list(await repo.events_for(session, i)) for i in ids}
    return CycleRun(
        plan, config, subscriptions, orders, events, order_arrivals(sim), list(sim.requests.query()), {}, {}, 0.0
    )
