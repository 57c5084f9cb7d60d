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
it for its rate. `ARBITRAGE_EXCHANGES__<ID>__RATE_LIMIT_SCALE` scales every limit (VIP tiers raise them).
Each wait is observed (`arbitrage_rate_budget_wait_seconds`); `usage()` says how full the windows are now.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from bisect import bisect_left
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
    future: asyncio.Future[None] = field(compare=False)


class _Windows:
    """Sliding windows that must all have room, per key; waiters are served best priority first."""

    def __init__(self, rates: Sequence[Rate], weighted: bool) -> None:
        self._rates = list(rates)
        self._weighted = weighted  # a request costs its weight (Binance's IP limit), else 1
        self._buckets: dict[str, InMemoryBucket] = {}
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

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

    async def acquire(self, level: int, cost: int, key: str) -> None:
        if not self._rates:
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, _Waiter(level, next(self._seq), cost if self._weighted else 1, key, future))
        self._serve()
        await future

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
                wait_ms = int(bucket.waiting(item))  # type: ignore[arg-type]
                self._timer = asyncio.get_running_loop().call_later(max(wait_ms, 1) / 1000, self._serve)
                return
            heapq.heappop(self._waiting).future.set_result(None)


class RequestBudget:
    def __init__(self, venue: VenueFacts, scale: float = 1.0) -> None:
        self.exchange_id = venue.id
        self._per_endpoint = any(limit.scope is LimitScope.ENDPOINT for limit in venue.request_limits)
        self._orders = _Windows([_rate(limit, scale) for limit in venue.order_limits], weighted=False)
        self._reads = _Windows([_rate(limit, scale, _order_share(venue.order_limits, limit))
                                for limit in venue.request_limits],
                               weighted=any(limit.weighted for limit in venue.request_limits))

    async def acquire(self, *, order: bool, endpoint: str, weight: int = 1) -> None:
        """Wait until one request fits."""
        started = time.monotonic()
        if order:
            await self._orders.acquire(0, weight, self.exchange_id)
        else:
            key = f"{self.exchange_id}:{endpoint}" if self._per_endpoint else self.exchange_id
            await self._reads.acquire(int(_PRIORITY.get()), max(weight, 1), key)
        observe_budget_wait(self.exchange_id, "orders" if order else "requests", time.monotonic() - started)

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
