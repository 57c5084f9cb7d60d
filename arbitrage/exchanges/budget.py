"""One exchange account's request budget: the exchange's documented limits, with orders first.

Two separate budgets per account, each a set of sliding windows (pyrate-limiter's sliding-window log, the rule the
exchanges apply, each window 50 ms wider than documented so that jitter on the way cannot squeeze one request too
many into the exchange's window):

- orders (open, close, unwind): the exchange's order limits. Orders never queue behind a read.
- every other request: the exchange's request limits, less the share the order limit may take of them in the
  same window, so that orders and reads together stay within the account's or IP's total. Waiting reads are
  served by priority (order lookups, then preparation, then background work such as funding polls and market
  refreshes), in arrival order within one priority.

A request that does not fit waits until the window frees (the library says when), so the exchange never refuses
it for its rate. An admitted request counts in every window from its admission until it is written, and from then
on at the time it was written (`Admission.written`): the exchange counts arrivals, and between admission and the
write lie the send gate, a busy event loop and, on a new connection, its handshake, which may well be longer than
the margin. `ARBITRAGE_EXCHANGES__<ID>__RATE_LIMIT_SCALE` scales every limit (VIP tiers raise them).
Each wait is observed (`arbitrage_rate_budget_wait_seconds`); `usage()` says how full the windows are now.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum

from pyrate_limiter import InMemoryBucket, Rate, RateItem

from arbitrage.domain.venues import LimitScope, RateLimit, VenueFacts
from arbitrage.ops.metrics import observe_budget_wait

# Each window is this much wider than documented: the exchange counts arrivals, which jitter on the way.
WINDOW_MARGIN_MS = 50
# The timestamp of an admitted request not yet written: later than any window's end, so it counts in all of them.
_IN_FLIGHT_MS = 2**62
WEIGHT_TABLE_HEADROOM = 0.05


class Priority(IntEnum):
    LOOKUP = 1  # settling an order in doubt, reading a fill back, a position read around an order
    PREPARE = 2  # funding rates, leverage, position mode ahead of a trigger
    BACKGROUND = 3  # funding polls, market refresh, clock measurement


_PRIORITY: ContextVar[Priority] = ContextVar("arbitrage_request_priority", default=Priority.PREPARE)


@contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Requests made inside this block (in this task) wait with `level`."""
    token = _PRIORITY.set(level)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


@dataclass(order=True)
class _Waiter:
    level: int
    seq: int
    cost: int = field(compare=False)
    key: str = field(compare=False)
    future: asyncio.Future[Admission] = field(compare=False)


class _Windows:
    """Sliding windows that must all have room, per key; waiters are served best priority first."""

    def __init__(self, rates: Sequence[Rate], weighted: bool) -> None:
        self._rates = list(rates)
        self._weighted = weighted  # a request costs its weight (Binance's IP limit), else 1
        self._buckets: dict[str, InMemoryBucket] = {}
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._longest_ms = max((rate.interval for rate in self._rates), default=0)

    @property
    def limits(self) -> list[int]:
        return [rate.limit for rate in self._rates]

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiting if not waiter.future.done())

    def usage(self) -> float:
        """The fullest window now, as a share of its limit (0..1), over every key."""
        now_ms = int(time.time() * 1000)
        fullest = 0.0
        for bucket in self._buckets.values():
            for rate in self._rates:
                in_window = len(bucket.items) - bisect_left(bucket.items, now_ms - rate.interval, key=_timestamp)
                fullest = max(fullest, in_window / rate.limit)
        return min(fullest, 1.0)

    async def acquire(self, level: int, cost: int, key: str) -> Admission:
        if not self._rates:
            return _UNLIMITED
        future: asyncio.Future[Admission] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, _Waiter(level, next(self._seq), cost if self._weighted else 1, key, future))
        self._serve()
        try:
            return await future
        except asyncio.CancelledError:  # admitted, then cancelled before it could run: the room is given back
            if future.done() and not future.cancelled():
                future.result().release()
            raise

    def _settle(self, bucket: InMemoryBucket, held: RateItem, written_ms: int | None) -> None:
        """An admitted request's entries move from in flight to the time it was written (or go, if it never was)."""
        bucket.items[:] = [item for item in bucket.items if item is not held]
        if written_ms is not None:
            at = bisect_right(bucket.items, written_ms, key=_timestamp)
            bucket.items[at:at] = [RateItem(held.name, written_ms, held.weight)] * held.weight
        self._serve()

    def _serve(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            waiter = self._waiting[0]
            if waiter.future.done():  # cancelled while waiting
                heapq.heappop(self._waiting)
                continue
            bucket = self._buckets.setdefault(waiter.key, InMemoryBucket(self._rates))
            now_ms = int(time.time() * 1000)
            bucket.leak(now_ms)  # drop what left every window (pyrate-limiter's Limiter would do it in a thread)
            item = RateItem(waiter.key, now_ms, waiter.cost)
            if not bucket.put(item):
                # Behind a request still in flight the library's wait is endless: its write serves the queue again.
                wait_ms = min(int(bucket.waiting(item)), self._longest_ms)  # type: ignore[arg-type]
                self._timer = asyncio.get_running_loop().call_later(max(wait_ms, 1) / 1000, self._serve)
                return
            # put() appended the item at the end, after any in flight: it becomes in flight itself.
            held = RateItem(waiter.key, _IN_FLIGHT_MS, item.weight)
            bucket.items[-item.weight:] = [held] * item.weight
            heapq.heappop(self._waiting).future.set_result(Admission(self, bucket, held))


class Admission:
    """One admitted request's place in its windows: in flight until `written`, or given back by `release`."""

    def __init__(self, windows: _Windows | None, bucket: InMemoryBucket | None, held: RateItem | None) -> None:
        self._windows, self._bucket, self._held = windows, bucket, held
        self._settled = windows is None

    def written(self, at: float) -> None:
        """The request was written at `at` (epoch seconds); later calls change nothing."""
        self._settle(int(at * 1000))

    def release(self) -> None:
        """The request was never written."""
        self._settle(None)

    def _settle(self, written_ms: int | None) -> None:
        if self._settled:
            return
        self._settled = True
        assert self._windows is not None and self._bucket is not None and self._held is not None
        self._windows._settle(self._bucket, self._held, written_ms)


_UNLIMITED = Admission(None, None, None)


class RequestBudget:
    def __init__(self, venue: VenueFacts, scale: float = 1.0) -> None:
        self.exchange_id = venue.id
        self._per_endpoint = any(limit.scope is LimitScope.ENDPOINT for limit in venue.request_limits)
        self._orders = _Windows([_rate(limit, scale) for limit in venue.order_limits], weighted=False)
        self._reads = _Windows([_rate(limit, scale, _order_share(venue.order_limits, limit))
                                for limit in venue.request_limits],
                               weighted=any(limit.weighted for limit in venue.request_limits))

    async def acquire(self, *, order: bool, endpoint: str, weight: int = 1) -> Admission:
        """Wait until one request fits; the caller says when it was written (or that it never was)."""
        started = time.monotonic()
        if order:
            admission = await self._orders.acquire(0, weight, self.exchange_id)
        else:
            key = f"{self.exchange_id}:{endpoint}" if self._per_endpoint else self.exchange_id
            admission = await self._reads.acquire(int(_PRIORITY.get()), max(weight, 1), key)
        observe_budget_wait(self.exchange_id, "orders" if order else "requests", time.monotonic() - started)
        return admission

    def usage(self) -> dict[str, tuple[float, int]]:
        """Per budget ("orders", "requests"): how full its fullest window is (0..1) and how many requests wait."""
        return {"orders": (self._orders.usage(), self._orders.waiting),
                "requests": (self._reads.usage(), self._reads.waiting)}


def _timestamp(item: RateItem) -> int:
    return item.timestamp


def _order_share(order_limits: Sequence[RateLimit], limit: RateLimit) -> int:
    """How much of `limit` the reads leave: the orders' share of its window (per-endpoint limits share nothing),
    and on a weighted limit 5 % for endpoints ccxt's cost table weighs lighter than the exchange does."""
    if limit.weighted:  # Binance orders weigh nothing on the IP limit
        return int(limit.amount * WEIGHT_TABLE_HEADROOM)
    if limit.scope is LimitScope.ENDPOINT:
        return 0
    return min((int(o.amount * limit.seconds / o.seconds) for o in order_limits), default=0)


def _rate(limit: RateLimit, scale: float, reserved: int = 0) -> Rate:
    return Rate(limit.scaled(scale, reserved), int(limit.seconds * 1000) + WINDOW_MARGIN_MS)
