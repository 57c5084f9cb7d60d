"""Wall-clock time for the services, and stop-aware waiting for an instant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


async def sleep_until(when: datetime, stop: asyncio.Event | None = None) -> bool:
    """Wait until `when` (UTC). Returns False at once if `stop` is set first (the daemon is shutting down).

    One sleep for the whole interval: the event loop's timer is accurate to about a millisecond, which is
    what puts the orders on the wire right at the trigger.
    """
    delay = (when - utcnow()).total_seconds()
    if delay <= 0:
        return not (stop is not None and stop.is_set())
    if stop is None:
        await asyncio.sleep(delay)
        return True
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        return True
    return False
