"""Shared pieces of the benchmarks: statistics, the simulator's view of orders, and the measured child process.

The code under measurement (the daemon, or the naive baseline) runs in a CHILD process and the simulator in this
one: the exchange is not competing for the daemon's event loop (as a real remote exchange would not), each gets
one of the two cores, and the child's peak memory is the daemon's alone. Both processes read the same wall clock,
so the simulator's `received_ns` and the daemon's trigger instants are directly comparable.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arbitrage.simulator.order_requests import ORDER_PATHS  # noqa: F401 (the benchmarks import it from here)
from arbitrage.simulator.requestlog import RequestLog
from arbitrage.simulator.server import SimulatorServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_PREFIX = "BENCH "

# Which parameter carries our client order id on the wire (ccxt's `clientOrderId` renamed per venue); where the
# order request lands is the simulator's ORDER_PATHS.
CLIENT_ID_PARAMS = {
    "binanceusdm": "newClientOrderId",
    "bybit": "orderLinkId",
    "bingx": "clientOrderID",
    "mexc": "externalOid",
}
# Enough for every benchmark's requests (the simulator's default keeps the last 20 000).
REQUEST_LOG_SIZE = 500_000
RICH_BALANCE = "100000000"  # USDT on every simulated account: margin never limits the scale benchmark


# --- statistics -------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); the value itself for one sample."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(values: Iterable[float]) -> dict[str, float | int]:
    """count, p50, p95, max (and min) of millisecond samples, rounded to microseconds."""
    samples = list(values)
    if not samples:
        return {"count": 0}
    return {
        "count": len(samples),
        "min": round(min(samples), 3),
        "p50": round(percentile(samples, 0.50), 3),
        "p95": round(percentile(samples, 0.95), 3),
        "max": round(max(samples), 3),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to one decimal; None when either is missing or zero."""
    return round(numerator / denominator, 1) if numerator and denominator else None


def ns_to_ms(nanoseconds: int | float) -> float:
    return nanoseconds / 1_000_000


# --- simulator --------------------------------------------------------------------------------------------------


def prepare_simulator(sim: SimulatorServer) -> None:
    """A request log large enough to keep everything, and accounts rich enough for any number of subscriptions."""
    sim.state.requests = RequestLog(max_records=REQUEST_LOG_SIZE)
    for exchange_id in sim.exchange_ids:
        sim.engine.set_balance(exchange_id, RICH_BALANCE)


def order_arrivals(sim: SimulatorServer) -> dict[str, int]:
    """client order id → when the simulator received its create request (ns since the epoch, first arrival)."""
    arrivals: dict[str, int] = {}
    for exchange_id, path in ORDER_PATHS.items():
        for record in sim.requests.query(exchange=exchange_id, path=path, method="POST"):
            client_id = record.params.get(CLIENT_ID_PARAMS[exchange_id])
            if client_id and str(client_id) not in arrivals:
                arrivals[str(client_id)] = record.received_ns
    return arrivals


def exchange_settings(sim: SimulatorServer) -> dict[str, dict[str, Any]]:
    """Settings for every simulated exchange: its base URL and credentials, no minimum entry lead (BingX's real
    30 s would only add idle waiting)."""
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {
            "api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id), "min_lead_seconds": 0,
        }
    return exchanges


# --- the measured child process ---------------------------------------------------------------------------------


class ChildFailed(RuntimeError):
    pass


@dataclass
class ChildProcess:
    """`python -m benchmarks.child` running one mode; talks `BENCH <kind> <json>` lines on stdout.

    Protocol: we send the config as one JSON line on stdin; the child answers `READY {...}` once started, runs
    until we send `STOP` (daemon mode) or its work is done, and ends with `RESULT {...}`.
    """

    process: asyncio.subprocess.Process
    log_path: Path
    ready: dict[str, Any]

    @classmethod
    async def start(cls, config: dict[str, Any], log_path: Path, timeout: float = 60) -> ChildProcess:
        with log_path.open("ab") as log_file:  # the child's stderr: its structured log lines and any traceback
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "benchmarks.child",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log_file, cwd=PROJECT_ROOT,
            )
        child = cls(process, log_path, {})
        assert process.stdin is not None
        process.stdin.write(json.dumps(config).encode() + b"\n")
        await process.stdin.drain()
        child.ready = await child._expect("READY", timeout)
        return child

    async def result(self, timeout: float = 120) -> dict[str, Any]:
        """Wait for the child's own end (a mode that finishes by itself)."""
        result = await self._expect("RESULT", timeout)
        await asyncio.wait_for(self.process.wait(), timeout)
        return result

    async def stop(self, timeout: float = 60) -> dict[str, Any]:
        assert self.process.stdin is not None
        if self.process.returncode is None:
            self.process.stdin.write(b"STOP\n")
            await self.process.stdin.drain()
        return await self.result(timeout)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    async def _expect(self, kind: str, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.kill()
                raise ChildFailed(f"no {kind} from the benchmark child within {timeout:g} s{self.log_tail()}")
            line = await asyncio.wait_for(self.process.stdout.readline(), remaining)
            if not line:
                await self.process.wait()
                raise ChildFailed(
                    f"benchmark child exited ({self.process.returncode}) before {kind}{self.log_tail()}"
                )
            text = line.decode().strip()
            if not text.startswith(PROTOCOL_PREFIX):
                continue
            got, _, payload = text[len(PROTOCOL_PREFIX):].partition(" ")
            data = json.loads(payload or "{}")
            if got == "ERROR":
                raise ChildFailed(f"benchmark child failed: {data.get('error')}{self.log_tail()}")
            if got == kind:
                return data

    def log_tail(self, lines: int = 15) -> str:
        try:
            tail = self.log_path.read_text().splitlines()[-lines:]
        except OSError:
            return ""
        return "\n  daemon log tail:\n  " + "\n  ".join(tail) if tail else ""


@dataclass
class LoopLag:
    lags_ms: list[float]
    gc_pauses_ms: list[float]  # full (generation 2) collections, which stop the loop


@contextlib.asynccontextmanager
async def loop_lag(every: float = 0.01) -> AsyncIterator[LoopLag]:
    """While the block runs, how late (ms) this process's event loop wakes from a sleep of `every` seconds, and
    how long its full garbage collections took."""
    found = LoopLag([], [])
    lags = found.lags_ms
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            found.gc_pauses_ms.append((time.perf_counter() - started[0]) * 1000)

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + every
            await asyncio.sleep(every)
            lags.append((loop.time() - asked) * 1000)

    task = asyncio.create_task(probe())
    gc.callbacks.append(on_gc)
    try:
        yield found
    finally:
        gc.callbacks.remove(on_gc)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def without_full_collections() -> Iterator[None]:
    """The simulator stands in for the exchanges' gateways, which count arrivals however busy they are. This
    process's full garbage collections (the simulator's request log keeps every request of a run) stop its loop
    for up to ~170 ms (measured at N = 500), and the requests that arrive meanwhile are stamped together, closer
    than they came: the exchange would then refuse what the daemon spaced correctly. Automatic collection is off
    while the instant is measured; one full collection runs after. The daemon, a process of its own, keeps its own
    collector as `arbitrage run` does."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()
