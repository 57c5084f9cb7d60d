"""Soak: back-to-back funding cycles through the real daemon (a child process) against the simulator, with random
order faults (the fault kinds of the order-outcome matrix, `arbitrage/simulator/faults.py` actions) and kill -9
of the daemon followed by a restart on the same database.

`python -m benchmarks.soak [--seconds 300] [--seed N] [--postgres URL]`. Each cycle is one subscription on a
symbol of its own (so that cycles never share a position), created a few seconds before its funding time, on a
random pair of exchanges. Afterwards: no row in a non-final state, every position flat unless its row says
NEEDS_ATTENTION, no order row left in doubt on a final row, no client order id sent twice; the daemon's RSS at
each start and at the end are reported. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbitrage.db import repository as repo
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.models import Order, Subscription
from arbitrage.db.session import Database
from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.order_ids import client_order_id
from arbitrage.domain.status import ORDER_IN_DOUBT, TERMINAL, OrderStatus, Status
from arbitrage.logging import configure_logging
from arbitrage.simulator.order_requests import ORDER_FAULT_KINDS as ORDER_FAULTS
from arbitrage.simulator.scenario import DEFAULT_SCENARIO
from arbitrage.simulator.server import SimulatorServer

from benchmarks.common import CLIENT_ID_PARAMS, ORDER_PATHS, ChildProcess, exchange_settings, prepare_simulator

EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")
LEAD_SECONDS = 2
CREATE_AHEAD_SECONDS = 5.0  # a cycle's row is written this long before its funding time
SPACING_SECONDS = 1.5  # between two cycles' funding times
FAULT_SHARE = 0.6  # cycles that get one random order fault
SETTLE_SECONDS = 90  # after the last cycle, how long the rows may take to become final


@dataclass
class SoakRun:
    seconds: float
    seed: int
    database_url: str
    log_path: Path
    kills: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    rss_at_start_mb: list[float] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


def scenario(symbols: list[str]) -> dict[str, Any]:
    """The default scenario with one BTC-like instrument per cycle on every venue, and rich accounts."""
    base = copy.deepcopy(json.loads(DEFAULT_SCENARIO.read_text()))
    for venue in base["venues"].values():
        venue.setdefault("settings", {})["rate_limits"] = {"scale": 10}
        template = next(i for i in venue["instruments"] if i["symbol"] == "BTC/USDT:USDT")
        venue["instruments"] += [{**copy.deepcopy(template), "symbol": symbol} for symbol in symbols]
        for account in venue["accounts"]:
            account["balance"] = "10000000"
    return base


def daemon_config(sim: SimulatorServer, database_url: str) -> dict[str, Any]:
    return {"mode": "daemon", "settings": {
        "database_url": database_url, "exchanges": exchange_settings(sim), "lead_seconds": LEAD_SECONDS,
        "leverage_sync_ahead_seconds": 1, "poll_interval_seconds": 0.2, "funding_confirm_timeout_seconds": 3,
        "order_timeout_seconds": 1.5, "log_level": "INFO",
    }}


async def run_soak(seconds: float = 60, seed: int = 1, database_url: str | None = None,
                   workdir: Path | None = None) -> dict[str, Any]:
    """Run the soak and return its counts and findings (`problems` empty when every check passed)."""
    rng = random.Random(seed)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="arbitrage-soak-"))
    database_url = database_url or f"sqlite:///{workdir / 'soak.db'}"
    cycles = max(1, int(seconds / SPACING_SECONDS))
    symbols = [f"SK{index:03d}/USDT:USDT" for index in range(cycles)]
    run = SoakRun(seconds, seed, database_url, workdir / "daemon.log")
    await upgrade_to_head(database_url)
    started = time.monotonic()
    async with SimulatorServer(scenario=scenario(symbols)) as sim:
        prepare_simulator(sim)
        db = Database(database_url)
        try:
            run.result["child"] = await _start(sim, run)
            ids = await _cycles(sim, db, run, rng, symbols)
            statuses = await _wait_final(db, ids)
            final = await run.result["child"].stop()
            subscriptions, orders = await _rows(db, ids)
        finally:
            run.result.pop("child").kill()  # a no-op once it stopped
            await db.dispose()
        found = problems(sim, subscriptions, orders)
    return {
        "seconds": round(time.monotonic() - started, 1), "seed": seed, "cycles": len(ids), "kills": run.kills,
        "restarts": run.kills, "faults": dict(run.faults),
        "statuses": dict(Counter(str(status) for status in statuses.values())),
        "orders": len(orders), "rss_at_each_start_mb": run.rss_at_start_mb,
        "rss_start_mb": run.rss_at_start_mb[0], "rss_end_mb": final.get("rss_mb"),
        "peak_rss_last_life_mb": final.get("peak_rss_mb"), "problems": found, "database": database_url.split(":")[0],
        "log": str(run.log_path),
    }


async def _start(sim: SimulatorServer, run: SoakRun) -> ChildProcess:
    child = await ChildProcess.start(daemon_config(sim, run.database_url), run.log_path)
    run.rss_at_start_mb.append(child.ready["rss_mb"])
    return child


async def _cycles(sim: SimulatorServer, db: Database, run: SoakRun, rng: random.Random, symbols: list[str]) -> list[int]:
    """One cycle every SPACING_SECONDS; kill -9 and restart at random moments in the first two thirds (the
    running daemon is `run.result["child"]`)."""
    first_funding = time.time() + CREATE_AHEAD_SECONDS
    kill_until = first_funding + len(symbols) * SPACING_SECONDS * 2 / 3
    next_kill = first_funding + rng.uniform(3, 8)
    ids = []
    for index, symbol in enumerate(symbols):
        funding_s = first_funding + index * SPACING_SECONDS
        while time.time() < funding_s - CREATE_AHEAD_SECONDS:
            await asyncio.sleep(0.05)
        ids.append(await _subscribe(sim, db, run, rng, symbol, funding_s))
        if time.time() >= next_kill and time.time() < kill_until:
            child = run.result["child"]
            child.kill()  # SIGKILL: nothing after this point is stored
            await child.process.wait()
            run.kills += 1
            run.result["child"] = await _start(sim, run)
            next_kill = time.time() + rng.uniform(4, 10)
    return ids


async def _subscribe(sim: SimulatorServer, db: Database, run: SoakRun, rng: random.Random, symbol: str,
                     funding_s: float) -> int:
    primary, hedge = rng.sample(EXCHANGES, 2)
    side = rng.choice([Side.LONG, Side.SHORT])
    funding_ms = int(funding_s * 1000) // 1000 * 1000
    for exchange in (primary, hedge):  # positive funding pays shorts: the primary always earns
        sim.engine.set_funding(exchange, symbol, next_funding_time=funding_ms,
                               rate=Decimal("0.0004") if side is Side.SHORT else Decimal("-0.0004"))
    async with db.unit_of_work() as session:
        subscription = await repo.create_subscription(
            session, primary_exchange=primary, primary_symbol=symbol, hedge_exchange=hedge, hedge_symbol=symbol,
            side=side, amount=Decimal("0.01"), funding_time=datetime.fromtimestamp(funding_ms / 1000, UTC),
            lead_seconds=LEAD_SECONDS, leverage=3)
    if rng.random() < FAULT_SHARE:
        kind = rng.choice(sorted(ORDER_FAULTS))
        leg = rng.choice([Leg.PRIMARY, Leg.HEDGE])
        purpose = rng.choice([OrderPurpose.OPEN, OrderPurpose.CLOSE])
        exchange = primary if leg is Leg.PRIMARY else hedge
        order_id = client_order_id(subscription.id, subscription.created_at, leg, purpose)
        for fault in ORDER_FAULTS[kind]:
            sim.faults.add(exchange=exchange, method="POST", path=ORDER_PATHS[exchange],
                           params={CLIENT_ID_PARAMS[exchange]: order_id}, **fault)
        run.faults[f"{purpose.lower()}/{kind}"] += 1
    return subscription.id


async def _wait_final(db: Database, ids: list[int]) -> dict[int, Status]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        async with db.unit_of_work() as session:
            statuses = {s.id: s.status for s in await repo.list_subscriptions(session)}
        if all(statuses[i] in TERMINAL or statuses[i] is Status.NEEDS_ATTENTION for i in ids):
            return statuses
        if time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.2)


async def _rows(db: Database, ids: list[int]) -> tuple[list[Subscription], list[Order]]:
    async with db.unit_of_work() as session:
        subscriptions = [await repo.require_subscription(session, i) for i in ids]
        orders = [o for i in ids for o in await repo.orders_for(session, i)]
    return subscriptions, orders


def problems(sim: SimulatorServer, subscriptions: list[Subscription], orders: list[Order]) -> list[str]:
    """What the soak must never end with."""
    found = []
    by_subscription: dict[int, list[Order]] = {}
    for order in orders:
        by_subscription.setdefault(order.subscription_id, []).append(order)
    for subscription in subscriptions:
        status = subscription.status
        name = f"subscription {subscription.id} ({subscription.primary_exchange}→{subscription.hedge_exchange})"
        if status not in TERMINAL and status is not Status.NEEDS_ATTENTION:
            found.append(f"{name} left {status}")
        for exchange in (subscription.primary_exchange, subscription.hedge_exchange):
            venue = sim.engine.venue(exchange)
            held = venue.position_views(venue.default_account(), subscription.primary_symbol)
            if held and status is not Status.NEEDS_ATTENTION:
                found.append(f"{name}: {exchange} still holds {subscription.primary_symbol} while the row is {status}")
        for order in by_subscription.get(subscription.id, []):
            in_doubt = order.status in ORDER_IN_DOUBT and not (order.status is OrderStatus.UNKNOWN
                                                               and status is Status.NEEDS_ATTENTION)
            if in_doubt and status in TERMINAL:
                found.append(f"{name}: order {order.client_order_id} left {order.status} on a {status} row")
    sent = Counter()
    for exchange, path in ORDER_PATHS.items():
        for record in sim.requests.query(exchange=exchange, path=path, method="POST"):
            if record.params.get(CLIENT_ID_PARAMS[exchange]):
                sent[str(record.params[CLIENT_ID_PARAMS[exchange]])] += 1
    found += [f"client order id {cid} sent {count} times" for cid, count in sent.items() if count > 1]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long cycles are started (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", metavar="URL", help="a scratch PostgreSQL database to use instead of SQLite")
    args = parser.parse_args(argv)
    configure_logging("console", "WARNING")  # this process is the simulator and the checks; the daemon logs to a file
    result = asyncio.run(run_soak(args.seconds, args.seed, args.postgres))
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
