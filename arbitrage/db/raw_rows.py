"""Subscription rows as they are stored, for rows the models cannot read (changed by hand in SQL).

A row whose status the daemon does not know, or whose amount, time or leverage no longer parses, must never stop
the daemon nor the CLI: such a row is described column by column (the raw value of each column that fails), and it
is written to by id only, so that nothing depends on the bad field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import InvalidOperation
from typing import Any

from sqlalchemy import Text, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db.models import Subscription, SubscriptionEvent, utcnow
from arbitrage.domain.status import Status

# What reading a hand-edited value raises in our column types (an enum, Decimal, datetime or leverage parse).
UNREADABLE_VALUE_ERRORS = (ValueError, TypeError, InvalidOperation, KeyError)
_KNOWN_STATUSES = [status.value for status in Status]
_STATUS_WIDTH = 32  # subscription_events.from_status


class UnreadableSubscription(LookupError):
    """A subscription row the models cannot read: `problems` maps each failing column to its raw value."""

    def __init__(self, subscription_id: int, problems: dict[str, str]) -> None:
        self.subscription_id = subscription_id
        self.problems = problems
        shown = ", ".join(f"{column}={value}" for column, value in problems.items()) or "unknown column"
        super().__init__(f"subscription {subscription_id} cannot be read: invalid {shown}")

    @property
    def raw_status(self) -> str | None:
        return self.problems.get("status")


async def diagnose(session: AsyncSession, subscription_id: int) -> dict[str, str]:
    """Each column of the row that does not read back through its type, with its stored text (empty if the row
    reads fine or is gone)."""
    problems: dict[str, str] = {}
    for column in Subscription.__table__.columns:
        try:
            await session.scalar(select(column).where(Subscription.id == subscription_id))
        except UNREADABLE_VALUE_ERRORS:
            problems[column.key] = repr(await raw_value(session, subscription_id, column.key))
    return problems


async def raw_value(session: AsyncSession, subscription_id: int, column: str) -> str | None:
    """The stored value of one column as text, without its type's parsing."""
    return await session.scalar(
        select(cast(Subscription.__table__.c[column], Text)).where(Subscription.__table__.c.id == subscription_id)
    )


async def raw_columns(session: AsyncSession, subscription_id: int) -> dict[str, str | None]:
    """Every column of the row as stored text (empty when the row is gone)."""
    table = Subscription.__table__
    row = (await session.execute(select(*(cast(column, Text).label(column.key) for column in table.columns))
                                 .where(table.c.id == subscription_id))).first()
    return dict(row._mapping) if row is not None else {}


async def raw_status(session: AsyncSession, subscription_id: int) -> str | None:
    """The stored status text (None: the row is gone)."""
    return await raw_value(session, subscription_id, "status")


def is_known_status(value: str | None) -> bool:
    return value in _KNOWN_STATUSES


async def unknown_status_rows(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, stored status) of every row whose status is not one the daemon knows."""
    table = Subscription.__table__
    status = cast(table.c.status, Text)
    rows = await session.execute(select(table.c.id, status).where(status.not_in(_KNOWN_STATUSES)).order_by(table.c.id))
    return [(row[0], row[1]) for row in rows]


async def readable_subscriptions(
    session: AsyncSession, statuses: Iterable[Status] | None = None
) -> tuple[list[Subscription], list[UnreadableSubscription]]:
    """The rows (filtered on `statuses`, ordered by id) that read, and a description of each that does not.
    One query when every row reads; row by row only after a failure."""
    query = select(Subscription).order_by(Subscription.id)
    ids = select(Subscription.id).order_by(Subscription.id)
    if statuses is not None:
        wanted = [Status(status).value for status in statuses]
        query = query.where(cast(Subscription.status, Text).in_(wanted))
        ids = ids.where(cast(Subscription.status, Text).in_(wanted))
    try:
        return list((await session.scalars(query)).all()), []
    except UNREADABLE_VALUE_ERRORS:
        session.expunge_all()  # drop rows half-loaded by the failed query
    readable, unreadable = [], []
    for subscription_id in (await session.scalars(ids)).all():
        try:
            row = await session.get(Subscription, subscription_id, populate_existing=True)
        except UNREADABLE_VALUE_ERRORS:
            session.expunge_all()
            unreadable.append(UnreadableSubscription(subscription_id, await diagnose(session, subscription_id)))
            continue
        if row is not None:
            readable.append(row)
    return readable, unreadable


async def flag_needs_attention(
    session: AsyncSession, subscription_id: int, message: str, *, event: str, details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """NEEDS_ATTENTION with `message`, by id only (whatever the other columns hold), and its event. False when
    the row is gone."""
    now = now or utcnow()
    previous = await raw_status(session, subscription_id)
    if previous is None:
        return False
    table = Subscription.__table__
    await session.execute(
        update(table).where(table.c.id == subscription_id).values(
            status=Status.NEEDS_ATTENTION.value, error_message=message, updated_at=now, status_changed_at=now)
    )
    session.add(SubscriptionEvent(subscription_id=subscription_id, at=now, event=event,
                                  from_status=previous[:_STATUS_WIDTH], to_status=Status.NEEDS_ATTENTION.value,
                                  message=message, details=details))
    await session.flush()
    return True


async def add_event_if_present(
    session: AsyncSession, subscription_id: int, event: str, message: str, details: dict[str, Any] | None = None,
) -> bool:
    """An event on a row that may have been deleted (False then, nothing written)."""
    if await raw_status(session, subscription_id) is None:
        return False
    session.add(SubscriptionEvent(subscription_id=subscription_id, at=utcnow(), event=event, message=message,
                                  details=details))
    await session.flush()
    return True

