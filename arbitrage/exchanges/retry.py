"""Retry SAFE requests (reads and idempotent settings) with backoff inside a deadline. Never order creation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from arbitrage.exchanges.connector import ExchangeError
from arbitrage.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

DEFAULT_ATTEMPTS = 3
DEFAULT_DEADLINE_SECONDS = 5.0
DEFAULT_DELAYS_SECONDS = (0.2, 0.6, 1.5)


async def retry_safe(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    delays: tuple[float, ...] = DEFAULT_DELAYS_SECONDS,
) -> T:
    """Run `call` (which raises classified `ExchangeError`s) again while the error is retryable, the attempts
    last and the next try would start before the deadline; otherwise re-raise the last error.

    The deadline counts from the first failure: a first attempt that waited its turn in the request budget (a
    preparation queue of hundreds of requests at one instant) has used none of the retries' time."""
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except ExchangeError as error:
            if deadline is None:
                deadline = loop.time() + deadline_seconds
            delay = delays[min(attempt - 1, len(delays) - 1)]
            if not error.retryable or attempt == attempts or loop.time() + delay > deadline:
                raise
            log.warning(
                "exchange_request_retry",
                exchange=error.exchange,
                operation=error.operation,
                attempt=attempt,
                kind=error.kind,
                reason=error.reason,
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
