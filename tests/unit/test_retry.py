"""Safe requests are retried with backoff, within a deadline that counts from the first failure."""

from __future__ import annotations

import asyncio

import pytest

from arbitrage.exchanges.connector import ErrorKind, ExchangeError
from arbitrage.exchanges.retry import retry_safe


def refused(retryable: bool = True) -> ExchangeError:
    return ExchangeError("mexc", "set_leverage", "Requests are too frequent! (code 510)", retryable=retryable,
                         kind=ErrorKind.RATE_LIMITED)


async def test_a_first_attempt_that_waited_its_turn_still_gets_its_retries() -> None:
    """At a busy instant the first attempt waits in the request budget longer than the retry deadline; its rate
    refusal is retried all the same (the set is idempotent), instead of failing the subscription."""
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(0.3)  # queued behind the instant's other preparation requests
            raise refused()
        return "set"

    assert await retry_safe(call, deadline_seconds=0.2, delays=(0.01,)) == "set"
    assert len(calls) == 2


async def test_retries_stop_at_the_deadline_counted_from_the_first_failure() -> None:
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def call() -> str:
        calls.append(loop.time())
        raise refused()

    with pytest.raises(ExchangeError):
        await retry_safe(call, attempts=10, deadline_seconds=0.25, delays=(0.1,))
    assert len(calls) == 3, "tries at 0, 0.1 and 0.2 s; the next would start after the deadline"


async def test_an_error_that_is_not_safe_to_repeat_is_raised_at_once() -> None:
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        raise refused(retryable=False)

    with pytest.raises(ExchangeError):
        await retry_safe(call)
    assert calls == [1]
