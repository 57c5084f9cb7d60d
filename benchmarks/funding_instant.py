"""The funding instant under the exchanges' documented rate limits: the daemon (a child process, exactly as
`arbitrage run` builds it, budgets at the documented limits) against the simulator (its limits on), side by side
with a naive ccxt bot (ccxt's default limiter, primary then hedge) on the same instant.

N subscriptions share one funding instant; subscription i trades ordered pair i mod 12 of the four exchanges on a
symbol of its own (one-way accounts net what shares a symbol). Every figure is taken where the simulator received
the request. The lower bound is what the order limits allow at best: an exchange taking K orders at n per window
of w seconds cannot take the last before (ceil(K / n) − 1) × w after the first.

    python -m benchmarks.funding_instant [--counts 1 36 100] [--latencies 0 50] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import sys
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt

from arbitrage.db import repository as repo
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import IN_PROGRESS
from arbitrage.domain.venues import VENUES
from arbitrage.exchanges.urls import override_api_urls
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.settings import load_settings
from arbitrage.simulator.scenario import DEFAULT_SCENARIO
from arbitrage.simulator.server import SimulatorServer

from benchmarks.delay_proxy import DelayProxy
from benchmarks.common import (
    CLIENT_ID_PARAMS,
    ORDER_PATHS,
    ChildProcess,
    exchange_settings,
    loop_lag,
    summary_ms,
    without_full_collections,
)

EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")
PAIRS = list(itertools.permutations(EXCHANGES, 2))
LEAD_SECONDS = 5
AMOUNT = Decimal("0.01")


def scenario(count: int) -> dict[str, Any]:
    data = json.loads(DEFAULT_SCENARIO.read_text())
    for venue in data["venues"].values():
        template = next(i for i in venue["instruments"] if i["symbol"] == "BTC/USDT:USDT")
        venue["instruments"] += [{**copy.deepcopy(template), "symbol": symbol} for symbol in symbols(count)]
        for account in venue["accounts"]:
            account["balance"] = "100000000"
    return data


def symbols(count: int) -> list[str]:
    return [f"B{index:03d}/USDT:USDT" for index in range(count)]


def lower_bound_ms(orders_per_exchange: dict[str, int]) -> float:
    bound = 0.0
    for exchange, count in orders_per_exchange.items():
        for limit in VENUES[exchange].order_limits:
            bound = max(bound, (math.ceil(count / limit.amount) - 1) * limit.seconds * 1000)
    return bound


def planned_spread_seconds(count: int) -> float:
    """How far before the latest trigger the order limits put the earliest (the lower bound, for this benchmark's
    pairs: each exchange takes half of the subscriptions' legs)."""
    per_exchange: dict[str, int] = {}
    for index in range(count):
        for exchange in PAIRS[index % len(PAIRS)]:
            per_exchange[exchange] = per_exchange.get(exchange, 0) + 1
    return lower_bound_ms(per_exchange) / 1000


async def run(count: int, latency_ms: int) -> dict[str, Any]:
    """`latency_ms`: one way, each direction, through a delaying proxy in front of the simulator."""
    with tempfile.TemporaryDirectory(prefix="arbitrage-instant-") as directory:
        url = f"sqlite:///{Path(directory) / 'bench.sqlite'}"
        await upgrade_to_head(url)
        async with SimulatorServer(scenario=scenario(count)) as sim, _link(sim, latency_ms) as link:
            sim.state.requests.__init__(max_records=200_000)  # keep every request of the run
            prepare_seconds = 8 + count // 6  # preparation reads and leverage, within the read budgets
            exchanges = exchange_settings(sim)
            for exchange in exchanges.values():
                exchange["base_url"] = link(exchange["base_url"])
            values = {"database_url": url, "exchanges": exchanges, "lead_seconds": LEAD_SECONDS,
                      "leverage_sync_ahead_seconds": prepare_seconds, "poll_interval_seconds": 0.2,
                      "funding_confirm_timeout_seconds": 10, "log_format": "json", "log_level": "WARNING"}
            config = PipelineConfig.from_settings(load_settings(None, **values))
            child = await ChildProcess.start({"mode": "daemon", "settings": values}, Path(directory) / "daemon.log")
            database = Database(url)
            try:
                # Notice enough for the earliest send slot's preparation: the order limits move triggers up to the
                # bound earlier (BingX, 250 orders at 5 / s: 49 s), and preparation starts that much before them.
                ahead = prepare_seconds + LEAD_SECONDS + planned_spread_seconds(count) + 3
                ids = await _subscribe(sim, database, count, ahead)
                with without_full_collections():
                    async with loop_lag() as lags:  # the simulator serves on this loop: how late it woke
                        await _wait(database, ids, timeout=ahead + 90)
                daemon = await _daemon_figures(sim, database, ids, config, latency_ms)
                daemon["simulator_loop_lag_ms"] = summary_ms(lags.lags_ms)
                daemon["simulator_gc_pauses_ms"] = summary_ms(lags.gc_pauses_ms)
            finally:
                await child.stop()
                await database.dispose()
    async with SimulatorServer(scenario=scenario(count)) as sim, _link(sim, latency_ms) as link:
        sim.state.requests.__init__(max_records=200_000)  # fresh windows: the bot gets the same limits
        naive = await _naive_bot(sim, count, link)
    return {"subscriptions": count, "latency_ms": latency_ms, "daemon": daemon, "naive": naive}


@contextlib.asynccontextmanager
async def _link(sim: SimulatorServer, latency_ms: int) -> AsyncIterator[Callable[[str], str]]:
    """Base URL → the URL to use: the simulator's own, or through a proxy delaying each way by `latency_ms`."""
    if not latency_ms:
        yield lambda base_url: base_url
        return
    address = urlsplit(sim.base_url(EXCHANGES[0]))
    async with DelayProxy(address.hostname or "127.0.0.1", address.port or 80, latency_ms) as proxy:
        yield proxy.url_for


async def _subscribe(sim: SimulatorServer, database: Database, count: int, ahead_seconds: float) -> list[int]:
    funding_ms = (sim.engine.now() + int(ahead_seconds * 1000)) // 1000 * 1000
    ids = []
    async with database.unit_of_work() as session:
        for index, symbol in enumerate(symbols(count)):
            primary, hedge = PAIRS[index % len(PAIRS)]
            for exchange in (primary, hedge):
                sim.engine.set_funding(exchange, symbol, next_funding_time=funding_ms,
                                       rate=Decimal("0.0005") if exchange == primary else Decimal("0.0001"))
            created = await repo.create_subscription(
                session, primary_exchange=primary, primary_symbol=symbol, hedge_exchange=hedge, hedge_symbol=symbol,
                side=Side.SHORT, amount=AMOUNT, funding_time=datetime.fromtimestamp(funding_ms / 1000, UTC),
                lead_seconds=LEAD_SECONDS, leverage=3)
            ids.append(created.id)
    return ids


async def _wait(database: Database, ids: list[int], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # One aggregate query a second: this process also serves the simulator, whose loop must stay free to take
    # the requests as they arrive (loading 500 rows at every poll held it for a few hundred ms).
    while loop.time() < deadline:
        async with database.unit_of_work() as session:
            counts = await repo.count_by_status(session)
        ended = sum(count for status, count in counts.items() if status not in IN_PROGRESS)
        if ended >= len(ids):
            return
        await asyncio.sleep(1)
    raise RuntimeError(f"subscriptions still running after {timeout:.0f} s")


def refusals(sim: SimulatorServer) -> dict[str, int]:
    """Requests the simulator refused for their rate, per exchange and endpoint."""
    counts: dict[str, int] = {}
    for record in sim.requests.query(outcome="rate_limited"):
        key = f"{record.exchange} {record.method} {record.path}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def refusal_context(sim: SimulatorServer) -> list[dict[str, Any]]:
    """Per refused request: the simulator's reason, and how long before it (ms) each request its endpoint accepted
    in the 2.5 s before had arrived: where the daemon's spacing went wrong, or where arrivals were squeezed."""
    found = []
    for record in sim.requests.query(outcome="rate_limited"):
        before = [(record.received_ns - other.received_ns) / 1e6
                  for other in sim.requests.query(exchange=record.exchange, path=record.path, method=record.method)
                  if other.outcome != "rate_limited" and 0 <= record.received_ns - other.received_ns < 2.5e9]
        found.append({"request": f"{record.exchange} {record.method} {record.path}", "reason": record.error_message,
                      "accepted_before_ms": sorted(round(ms, 1) for ms in before)})
    return found


def _opened_for(sim: SimulatorServer, latency_ms: int) -> list:
    """The opens that came on a connection opened for them, not by a warm-up: the first request on a connection
    accepted less than a round trip (and 50 ms for the loop) before it arrived. (A client id ends in leg, purpose
    and attempt: `-PO1` is the primary's first open.)"""
    return [record for record in _order_records(sim, "arb-") if record.extra.get("new_connection")
            and record.extra.get("connection_age_ms", 0) < 2 * latency_ms + 50
            and re.search(r"-[PH]O\d+$", str(record.params.get(CLIENT_ID_PARAMS[record.exchange])))]


def new_connection_context(opens: list, sim: SimulatorServer) -> list[dict[str, Any]]:
    """Per open on a connection opened for it: what its exchange received from 1.5 s before it to 0.3 s after
    (ms relative to it, the endpoint, * for a request that opened a connection): which warm-up was missing."""
    found = []
    for record in opens:
        around = [f"{(other.received_ns - record.received_ns) / 1e6:+.0f} {other.method} {other.path}"
                  f"{' *' if other.extra.get('new_connection') else ''}"
                  for other in sim.requests.query(exchange=record.exchange)
                  if -1.5e9 <= other.received_ns - record.received_ns <= 0.3e9 and other is not record]
        found.append({"order": f"{record.exchange} {record.params.get(CLIENT_ID_PARAMS[record.exchange])}",
                      "around": around})
    return found


def _arrivals(sim: SimulatorServer, prefix: str = "") -> tuple[dict[str, int], int]:
    """client id → first arrival (ns), and the requests refused for their rate."""
    arrivals: dict[str, int] = {}
    for record in _order_records(sim, prefix):
        client_id = str(record.params.get(CLIENT_ID_PARAMS[record.exchange]) or "")
        if client_id not in arrivals:
            arrivals[client_id] = record.received_ns
    return arrivals, len(sim.requests.query(outcome="rate_limited"))


def _order_records(sim: SimulatorServer, prefix: str) -> list:
    return [record for exchange, path in ORDER_PATHS.items()
            for record in sim.requests.query(exchange=exchange, path=path, method="POST")
            if str(record.params.get(CLIENT_ID_PARAMS[exchange]) or "").startswith(prefix)]


async def _daemon_figures(sim: SimulatorServer, database: Database, ids: list[int], config: PipelineConfig,
                          latency_ms: int) -> dict:
    arrivals, refused = _arrivals(sim, "arb-")
    gaps, lateness, firsts, lasts, late, per_exchange, statuses = [], [], [], [], 0, {}, {}
    worst: list[tuple[float, str, float]] = []  # (gap ms, pair, first leg after its trigger ms)
    async with database.unit_of_work() as session:
        for subscription_id in ids:
            subscription = await repo.require_subscription(session, subscription_id)
            statuses[subscription.status.value] = statuses.get(subscription.status.value, 0) + 1
            events = await repo.events_for(session, subscription_id)
            opening = next((e for e in events if e.event == "opening"), None)
            if opening is None:  # ended before its orders were recorded (its error_message says why)
                continue
            trigger = datetime.fromisoformat(opening.details["trigger_at"]).timestamp() * 1e9
            opens = [o for o in await repo.orders_for(session, subscription_id) if o.purpose.value == "OPEN"
                     and o.client_order_id in arrivals]
            times = [arrivals[o.client_order_id] for o in opens]
            for order in opens:
                per_exchange[order.exchange] = per_exchange.get(order.exchange, 0) + 1
            if len(times) == 2:
                gaps.append(abs(times[0] - times[1]) / 1e6)
                worst.append((round(gaps[-1], 3), f"{subscription.primary_exchange}/{subscription.hedge_exchange}",
                              round((min(times) - trigger) / 1e6, 1)))
            if times:
                lateness.append((min(times) - trigger) / 1e6)
                firsts.append(min(times))
                lasts.append(max(times))
                late += max(times) > config.entry_deadline(subscription).timestamp() * 1e9
    span = (max(lasts) - min(firsts)) / 1e6 if lasts else 0.0
    bound = lower_bound_ms(per_exchange)
    return {"statuses": statuses, "leg_gap_ms": summary_ms(gaps), "widest_gaps": sorted(worst, reverse=True)[:5], "trigger_lateness_ms": summary_ms(lateness),
            "first_to_last_open_ms": round(span, 1), "lower_bound_ms": bound,
            "ratio_to_bound": round(span / bound, 2) if bound else None,
            "rate_limit_refusals": refused, "refused": refusals(sim), "refusal_context": refusal_context(sim),
            "opens_after_deadline": late,
            "orders_on_new_connections": dict(Counter(r.exchange for r in _opened_for(sim, latency_ms))),
            "new_connection_context": new_connection_context(_opened_for(sim, latency_ms), sim),
            "errors": sorted({row.error_message for row in await _rows(database, ids) if row.error_message})[:5]}


async def _rows(database: Database, ids: list[int]) -> list:
    async with database.unit_of_work() as session:
        return [await repo.require_subscription(session, i) for i in ids]


async def _naive_bot(sim: SimulatorServer, count: int, link: Callable[[str], str]) -> dict:
    """What most bots do: at the instant, for every subscription, await the primary order, then the hedge, through
    ccxt's default limiter (one client per exchange)."""
    refused_before = len(sim.requests.query(outcome="rate_limited"))
    clients = {}
    for exchange in EXCHANGES:
        key, secret = sim.credentials(exchange)
        client = getattr(ccxt, exchange)({"apiKey": key, "secret": secret, "options": {"defaultType": "swap"}})
        client.urls["api"] = override_api_urls(client.urls["api"], link(sim.base_url(exchange)))
        clients[exchange] = client
    try:
        await asyncio.gather(*(client.load_markets() for client in clients.values()))
    except Exception:
        await asyncio.gather(*(client.close() for client in clients.values()))
        raise
    results: list[tuple[str | None, str | None]] = []

    async def one(index: int, symbol: str) -> None:
        primary, hedge = PAIRS[index % len(PAIRS)]
        ids = [f"nv{index}p", f"nv{index}h"]
        for exchange, side, client_id in ((primary, "sell", ids[0]), (hedge, "buy", ids[1])):
            try:
                await clients[exchange].create_order(symbol, "market", side, _contracts(exchange), None,
                                                     {"clientOrderId": client_id})
            except Exception as error:  # noqa: BLE001 - a naive bot just carries on
                results.append((client_id, type(error).__name__))

    start = sim.engine.now()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(symbols(count))))
    for client in clients.values():
        await client.close()
    arrivals, refused = _arrivals(sim, "nv")
    gaps = [abs(arrivals[f"nv{i}p"] - arrivals[f"nv{i}h"]) / 1e6 for i in range(count)
            if f"nv{i}p" in arrivals and f"nv{i}h" in arrivals]
    span = (max(arrivals.values()) - start * 1e6) / 1e6 if arrivals else 0.0
    return {"leg_gap_ms": summary_ms(gaps), "start_to_last_open_ms": round(span, 1),
            "rate_limit_refusals": refused - refused_before, "orders_failed": len(results)}


def _contracts(exchange: str) -> float:
    return 100.0 if exchange == "mexc" else float(AMOUNT)  # MEXC BTC contracts are 0.0001 BTC


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 36, 100])
    parser.add_argument("--latencies", type=int, nargs="+", default=[0, 50])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = []
    for count, latency in itertools.product(args.counts, args.latencies):
        result = asyncio.run(run(count, latency))
        results.append(result)
        print(json.dumps(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
