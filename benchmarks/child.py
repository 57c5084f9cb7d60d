"""The measured process: `python -m benchmarks.child`, driven by benchmarks.common.ChildProcess.

Modes (the config arrives as one JSON line on stdin):
- `daemon`: the real `Daemon` (scheduler, pipeline, ccxt connectors) until `STOP` arrives on stdin; reports peak
  RSS and, when asked, the tracemalloc peak.
- `naive`: what a naive bot does with the same connectors: at each planned instant, `await` the primary order,
  then `await` the hedge order ("sequential"); the same rounds also run with both sent together ("concurrent").
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import resource
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from arbitrage.daemon import Daemon
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import configure_logging
from arbitrage.services.clock import sleep_until
from arbitrage.settings import Settings, load_settings

from benchmarks.common import PROTOCOL_PREFIX

MB = 1024 * 1024


def emit(kind: str, data: dict[str, Any]) -> None:
    sys.stdout.write(f"{PROTOCOL_PREFIX}{kind} {json.dumps(data)}\n")
    sys.stdout.flush()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 2)  # ru_maxrss is KiB on Linux


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return round(resident_pages * os.sysconf("SC_PAGE_SIZE") / MB, 2)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def traced_mb() -> dict[str, float]:
    if not tracemalloc.is_tracing():
        return {}
    current, peak = tracemalloc.get_traced_memory()
    return {"traced_current_mb": round(current / MB, 2), "traced_peak_mb": round(peak / MB, 2)}


async def run_daemon(settings: Settings, track_memory: bool, profile_path: str | None) -> None:
    if track_memory:
        tracemalloc.start()  # after the imports: the daemon's own allocations, not ccxt's module objects
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run())
    while daemon.scheduler is None or not daemon.scheduler.scheduler.running:
        if task.done():
            task.result()
            raise RuntimeError("the daemon returned before starting its scheduler")
        await asyncio.sleep(0.005)
    cpu_at_ready = cpu_seconds()
    profiler = cProfile.Profile() if profile_path else None
    emit("READY", {"rss_mb": current_rss_mb(), "cpu_s": cpu_at_ready, **traced_mb()})
    if profiler is not None:
        profiler.enable()  # the event loop's thread only: where the daemon's own CPU goes
    await asyncio.to_thread(sys.stdin.readline)  # STOP (or EOF if the parent went away)
    daemon.stop.set()
    await task
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile_path)
    emit("RESULT", {"peak_rss_mb": peak_rss_mb(), "rss_mb": current_rss_mb(),
                    "cpu_s_after_start": round(cpu_seconds() - cpu_at_ready, 2), **traced_mb()})


async def run_naive(settings: Settings, rounds: list[dict[str, Any]], spacing_s: float) -> None:
    connectors = build_connectors(settings)
    try:
        await _warm_up(connectors, rounds)
        emit("READY", {})
        start = datetime.now(UTC) + timedelta(seconds=0.2)
        planned = []
        for index, round_ in enumerate(rounds):
            at = start + timedelta(seconds=spacing_s * index)
            await sleep_until(at)
            primary, hedge = (_order(connectors, round_[leg]) for leg in ("primary", "hedge"))
            if round_["style"] == "sequential":
                await primary
                await hedge
            else:
                await asyncio.gather(primary, hedge)
            planned.append(int(at.timestamp() * 1e9))
        emit("RESULT", {"planned_ns": planned})
    finally:
        await connectors.close()


async def _warm_up(connectors: ConnectorRegistry, rounds: list[dict[str, Any]]) -> None:
    """Markets loaded and position modes known, as the daemon has them by the trigger (connections open too)."""
    exchanges = {round_[leg]["exchange"] for round_ in rounds for leg in ("primary", "hedge")}
    await asyncio.gather(*(connectors.get(exchange).load_markets() for exchange in exchanges))
    await asyncio.gather(*(connectors.get(exchange).position_mode() for exchange in exchanges))


async def _order(connectors: ConnectorRegistry, order: dict[str, Any]) -> None:
    await connectors.get(order["exchange"]).create_market_order(
        order["symbol"], order["side"], Decimal(order["amount"]), order["client_order_id"]
    )


async def main() -> None:
    config = json.loads(sys.stdin.readline())
    settings = load_settings(None, **config["settings"])
    configure_logging("json", settings.log_level, stream=sys.stderr)  # stderr is the run's log file
    if config["mode"] == "daemon":
        await run_daemon(settings, bool(config.get("track_memory")), config.get("profile_path"))
    else:
        await run_naive(settings, config["rounds"], float(config["spacing_s"]))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as error:  # the parent prints this with the log tail
        emit("ERROR", {"error": f"{type(error).__name__}: {error}"})
        raise
