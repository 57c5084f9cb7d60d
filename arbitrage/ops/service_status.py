"""The one-line summary a service manager shows (systemd's STATUS=): what the daemon is driving and when next."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.domain.status import IN_PROGRESS, Status
from arbitrage.services.clock import utcnow

_SHOWN = IN_PROGRESS | {Status.NEEDS_ATTENTION}


def summary_line(subscriptions: Iterable[tuple[Status, datetime]], now: datetime) -> str:
    """`2 scheduled, 1 in progress, 1 needs attention, next funding 2026-12-02 08:00:00 UTC` (zero counts left out,
    except scheduled). `subscriptions`: (status, funding time) of the rows the daemon still has to look at."""
    scheduled = in_progress = attention = 0
    upcoming: list[datetime] = []
    for status, funding_time in subscriptions:
        if status is Status.NEEDS_ATTENTION:
            attention += 1
            continue
        if status is Status.SCHEDULED:
            scheduled += 1
        else:
            in_progress += 1
        if funding_time >= now:
            upcoming.append(funding_time)
    parts = [f"{scheduled} scheduled"]
    if in_progress:
        parts.append(f"{in_progress} in progress")
    if attention:
        parts.append(f"{attention} needs attention")
    if upcoming:
        parts.append(f"next funding {min(upcoming):%Y-%m-%d %H:%M:%S} UTC")
    return ", ".join(parts)


async def read_summary(db: Database) -> str:
    async with db.unit_of_work() as session:
        rows = await repo.list_subscriptions(session, _SHOWN)
        return summary_line(((Status(row.status), row.funding_time) for row in rows), utcnow())
