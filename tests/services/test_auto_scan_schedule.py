"""The auto-subscribe scan's schedule: ahead of every whole UTC hour, and at start inside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arbitrage.scheduler import SubscriptionScheduler


async def _nothing() -> None:
    return None


@pytest.mark.parametrize("seconds_ahead", [300, 3599, 3600, 7200])
async def test_scan_runs_ahead_of_each_whole_hour(seconds_ahead: int) -> None:
    scheduler = SubscriptionScheduler(None, None, None, 1)  # type: ignore[arg-type]  # only the job store is used
    scheduler.scheduler.start(paused=True)
    try:
        now = datetime.now(UTC)
        scheduler.add_before_each_hour(_nothing, seconds_ahead, "auto")
        hourly = scheduler.scheduler.get_job("auto").trigger.get_next_fire_time(None, now)
        at_start = scheduler.scheduler.get_job("auto-at-start")
    finally:
        scheduler.scheduler.shutdown(wait=False)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    ahead = next_hour - timedelta(seconds=seconds_ahead)
    while ahead <= now:
        ahead += timedelta(hours=1)
    assert hourly == ahead
    # inside the window already (the next hour is closer than seconds_ahead): one extra run now
    assert (at_start is not None) == (next_hour - now <= timedelta(seconds=seconds_ahead))
