"""The request budget: documented windows kept, orders never behind reads, reads served by priority.

Small limits (a few per second) so that a window passes in about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from arbitrage.domain.venues import VENUES, LimitScope, RateLimit, VenueFacts
from arbitrage.exchanges.budget import Priority, RequestBudget, priority

A = LimitScope.ACCOUNT


def venue(orders: int = 2, requests: int = 3, scope: LimitScope = A, seconds: float = 1) -> VenueFacts:
    return VenueFacts("test", (), 1, 10, 0, order_limits=(RateLimit(orders, seconds, A),),
                      request_limits=(RateLimit(requests, seconds, scope),))


async def sent(budget: RequestBudget, *, order: bool, endpoint: str) -> None:
    """Admitted and written at once."""
    (await budget.acquire(order=order, endpoint=endpoint)).written(time.time())


async def stamps(budget: RequestBudget, count: int, *, order: bool = False, endpoint: str = "GET /x") -> list[float]:
    start = time.perf_counter()

    async def one() -> float:
        await sent(budget, order=order, endpoint=endpoint)
        return time.perf_counter() - start

    return sorted(await asyncio.gather(*(one() for _ in range(count))))


async def test_no_window_holds_more_than_its_limit() -> None:
    budget = RequestBudget(venue(orders=2, requests=10))
    times = await stamps(budget, 5, order=True)
    assert times[1] < 0.1, "the first two orders go at once"
    assert 1.04 < times[2] < 1.2 and 1.04 < times[3] < 1.2, "the next two once the first ones left the window"
    assert 2.09 < times[4] < 2.3, "(each window 50 ms wider than documented: arrivals jitter)"


async def test_an_order_never_waits_behind_reads() -> None:
    budget = RequestBudget(venue(orders=2, requests=5))
    reads = asyncio.gather(*(sent(budget, order=False, endpoint="GET /x") for _ in range(6)))  # two windows
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await sent(budget, order=True, endpoint="POST /order")
    assert time.perf_counter() - started < 0.05
    await reads


async def test_waiting_reads_are_served_by_priority() -> None:
    budget = RequestBudget(venue(orders=1, requests=1))
    served: list[str] = []

    async def read(level: Priority, name: str) -> None:
        with priority(level):
            await sent(budget, order=False, endpoint="GET /x")
        served.append(name)

    first = asyncio.create_task(read(Priority.BACKGROUND, "first"))
    await asyncio.sleep(0.01)
    poll = asyncio.create_task(read(Priority.BACKGROUND, "poll"))
    await asyncio.sleep(0.01)
    lookup = asyncio.create_task(read(Priority.LOOKUP, "lookup"))  # arrives last, goes first
    await asyncio.gather(first, poll, lookup)
    assert served == ["first", "lookup", "poll"]


async def test_per_endpoint_limits_count_each_endpoint_apart() -> None:
    budget = RequestBudget(venue(requests=2, scope=LimitScope.ENDPOINT))
    times = await asyncio.gather(stamps(budget, 2, endpoint="GET /a"), stamps(budget, 2, endpoint="GET /b"))
    assert max(max(t) for t in times) < 0.1


def test_reads_leave_room_for_the_orders_in_a_shared_window() -> None:
    """Bybit: 600 requests / 5 s per IP, of which orders may take 10 / s: reads get 550 / 5 s. Binance orders weigh
    nothing on its IP weight limit, but 5 % is kept for endpoints ccxt weighs lighter than Binance does; MEXC
    counts each endpoint apart: nothing is set aside there."""
    def read_limit(exchange: str) -> int:
        return RequestBudget(VENUES[exchange])._reads.limits[0]

    assert read_limit("bybit") == 550
    assert read_limit("bingx") == 2000 - 5 * 10
    assert read_limit("binanceusdm") == 2280 and read_limit("mexc") == 20
    assert RequestBudget(VENUES["bybit"], scale=2)._orders.limits == [20]


async def test_requests_that_left_every_window_are_forgotten() -> None:
    """A long-running daemon keeps only what its windows still count (memory stays flat)."""
    budget = RequestBudget(venue(orders=1, requests=1000, seconds=0.1))
    await stamps(budget, 200)
    await asyncio.sleep(0.2)  # past the 150 ms window
    await stamps(budget, 1)
    [bucket] = budget._reads._buckets.values()
    assert len(bucket.items) == 1


async def test_a_request_counts_from_its_write_not_its_admission() -> None:
    """The exchange counts arrivals: an order admitted at once but written 300 ms later (held up by the send gate,
    a busy loop or a new connection's handshake) keeps its window until 1.05 s after its write."""
    budget = RequestBudget(venue(orders=1))
    admission = await budget.acquire(order=True, endpoint="POST /order")
    start = time.perf_counter()
    second = asyncio.create_task(sent(budget, order=True, endpoint="POST /order"))
    await asyncio.sleep(0.3)
    assert not second.done(), "an admitted request counts while it is in flight"
    admission.written(time.time())
    await second
    assert 1.3 < time.perf_counter() - start < 1.5


async def test_a_request_never_written_gives_its_room_back() -> None:
    budget = RequestBudget(venue(orders=1))
    (await budget.acquire(order=True, endpoint="POST /order")).release()
    started = time.perf_counter()
    await sent(budget, order=True, endpoint="POST /order")
    assert time.perf_counter() - started < 0.05


async def test_a_request_cancelled_once_admitted_gives_its_room_back() -> None:
    """Admitted and cancelled before its task ran again: nobody could say it was written, so the budget does."""
    budget = RequestBudget(venue(orders=1))
    first = await budget.acquire(order=True, endpoint="POST /order")
    waiting = asyncio.create_task(budget.acquire(order=True, endpoint="POST /order"))
    await asyncio.sleep(0.01)
    first.release()  # the waiting one is admitted: its future has its result, its task has not resumed
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    started = time.perf_counter()
    await sent(budget, order=True, endpoint="POST /order")
    assert time.perf_counter() - started < 0.05
