"""The request budget reports what it does: each wait observed per exchange and budget, and how full it is now."""

from __future__ import annotations

import asyncio
import time

import pytest

from arbitrage.domain.venues import LimitScope, RateLimit, VenueFacts
from arbitrage.exchanges.budget import RequestBudget
from arbitrage.ops.metrics import sample

A = LimitScope.ACCOUNT


def venue(exchange_id: str, orders: int, requests: int, seconds: float) -> VenueFacts:
    return VenueFacts(exchange_id, (), 1, 10, 0, order_limits=(RateLimit(orders, seconds, A),),
                      request_limits=(RateLimit(requests, seconds, A),))


async def sent(budget: RequestBudget, **request: object) -> None:
    """Admitted and written at once."""
    (await budget.acquire(**request)).written(time.time())  # type: ignore[arg-type]


def waits(exchange_id: str, budget: str) -> tuple[float, float]:
    labels = {"exchange": exchange_id, "budget": budget}
    return (sample("arbitrage_rate_budget_wait_seconds_count", labels),
            sample("arbitrage_rate_budget_wait_seconds_sum", labels))


async def test_waits_are_observed_per_budget_and_usage_is_the_fullest_window() -> None:
    budget = RequestBudget(venue("metrics-test", orders=1, requests=4, seconds=0.2))
    assert budget.usage() == {"orders": (0.0, 0), "requests": (0.0, 0)}
    await asyncio.gather(*(sent(budget, order=False, endpoint="GET /x") for _ in range(2)))
    # the orders' share of the request window (1 per 0.2 s) is kept free for orders: reads get 3 of the 4
    assert budget.usage()["requests"] == (pytest.approx(2 / 3), 0)
    assert waits("metrics-test", "requests")[0] == 2

    first = asyncio.create_task(sent(budget, order=True, endpoint="POST /order"))
    second = asyncio.create_task(sent(budget, order=True, endpoint="POST /order"))
    await asyncio.sleep(0.05)
    assert budget.usage()["orders"] == (1.0, 1), "one order in the window, the next one waiting"
    await asyncio.gather(first, second)
    count, total = waits("metrics-test", "orders")
    assert count == 2
    assert 0.2 <= total < 0.5, "the second order waited for the window (0.2 s + 50 ms margin)"
    await asyncio.sleep(0.26)
    assert budget.usage() == {"orders": (0.0, 0), "requests": (0.0, 0)}, "the windows have passed"
