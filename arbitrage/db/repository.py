"""Queries. Every function takes the session it is given and never commits: the caller's unit of work does.

Status changes go through `transition()` only: it checks the domain's transition table, guards against a
concurrent writer (the CLI cancelling while the daemon triggers), appends a `subscription_events` row and logs
one `subscription_status_changed` line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from arbitrage.db.models import (
    CreatedBy,
    FundingPayment,
    Order,
    Subscription,
    SubscriptionEvent,
    utcnow,
)
from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.status import CARRIES_REASON, OrderStatus, Status, check_order_transition, check_transition
from arbitrage.logging import get_logger

log = get_logger(__name__)



class SubscriptionNotFound(LookupError):
    def __init__(self, subscription_id: int) -> None:
        super().__init__(f"subscription {subscription_id} not found")
        self.subscription_id = subscription_id


class StatusConflict(RuntimeError):
    """The row's status changed under us (another process moved it first)."""

    def __init__(self, subscription_id: int, expected: Status) -> None:
        super().__init__(f"subscription {subscription_id} is no longer {expected}: another process changed it")
        self.subscription_id = subscription_id
        self.expected = expected


# --- subscriptions ---------------------------------------------------------------------------------------------


async def create_subscription(
    session: AsyncSession,
    *,
    primary_exchange: str,
    primary_symbol: str,
    hedge_exchange: str,
    hedge_symbol: str,
    side: Side,
    amount: Decimal,
    funding_time: datetime,
    lead_seconds: int,
    leverage: int | str | None = None,
    now: datetime | None = None,
    created_by: CreatedBy = CreatedBy.CLI,
    estimate: Opportunity | None = None,
) -> Subscription:
    """Insert a SCHEDULED subscription and its `created` event; the caller has validated the values. `estimate`:
    what the scanner expected of it (stored with the row, compared with the result when it completes)."""
    now = now or utcnow()
    subscription = Subscription(
        primary_exchange=primary_exchange,
        primary_symbol=primary_symbol,
        hedge_exchange=hedge_exchange,
        hedge_symbol=hedge_symbol,
        side=Side(side),
        amount=amount,
        leverage=leverage,
        funding_time=funding_time,
        lead_seconds=lead_seconds,
        status=Status.SCHEDULED,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        created_by=created_by,
    )
    if estimate is not None:
        subscription.estimate_notional = estimate.notional_usdt
        subscription.estimate_funding = estimate.funding_usdt
        subscription.estimate_fees = estimate.fees_usdt
        subscription.estimate_spread = estimate.spread_usdt
        subscription.estimate_net = estimate.net_usdt
    session.add(subscription)
    await session.flush()
    session.add(
        SubscriptionEvent(
            subscription_id=subscription.id, at=now, event="created", from_status=None, to_status=Status.SCHEDULED
        )
    )
    await session.flush()
    log.info(
        "subscription_created",
        subscription_id=subscription.id,
        primary=f"{primary_exchange} {primary_symbol}",
        hedge=f"{hedge_exchange} {hedge_symbol}",
        side=str(side),
        amount=str(amount),
        funding_time=funding_time.isoformat(),
        created_by=str(created_by),
    )
    return subscription


async def get_subscription(session: AsyncSession, subscription_id: int) -> Subscription | None:
    return await session.get(Subscription, subscription_id)


async def require_subscription(session: AsyncSession, subscription_id: int) -> Subscription:
    subscription = await get_subscription(session, subscription_id)
    if subscription is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription


async def list_subscriptions(
    session: AsyncSession, status: Status | Iterable[Status] | None = None
) -> Sequence[Subscription]:
    """Ordered by funding time, then id. `status` filters on one status or any of several."""
    query = select(Subscription).order_by(Subscription.funding_time, Subscription.id)
    if isinstance(status, Status | str):
        query = query.where(Subscription.status == Status(status))
    elif status is not None:
        query = query.where(Subscription.status.in_([Status(s) for s in status]))
    return (await session.scalars(query)).all()


async def count_by_status(session: AsyncSession) -> dict[Status, int]:
    """How many subscriptions are in each status (every status present, 0 where none)."""
    rows = await session.execute(select(Subscription.status, func.count()).group_by(Subscription.status))
    counts = dict.fromkeys(Status, 0)
    counts.update({Status(status): count for status, count in rows.all()})
    return counts


async def result_totals(session: AsyncSession) -> dict[str, Decimal]:
    """Funding received, fees and realized PnL summed over every subscription that has them (COMPLETED ones).
    Summed here, not in SQL: SQLite keeps these columns as text and would add them as floats."""
    columns = (Subscription.funding_received, Subscription.fees, Subscription.realized_pnl)
    totals = {column.key: Decimal(0) for column in columns}
    for row in await session.execute(select(*columns).where(Subscription.funding_received.is_not(None))):
        for column, value in zip(columns, row, strict=True):
            totals[column.key] += value or Decimal(0)
    return totals


# Events of an ERROR reached by unwinding a leg that had executed.
_AFTER_AN_UNWIND = frozenset({"unwound", "recovered"})


async def transition(
    session: AsyncSession,
    subscription: Subscription,
    to_status: Status,
    *,
    event: str = "status_changed",
    message: str | None = None,
    details: dict[str, Any] | None = None,
    error_message: str | None = None,
    now: datetime | None = None,
) -> SubscriptionEvent:
    """Move `subscription` to `to_status` (raises `InvalidTransition` if the table forbids it, `StatusConflict`
    if the stored status is no longer the one this object holds). For the statuses of `CARRIES_REASON` (ERROR,
    NEEDS_ATTENTION, SKIPPED) the message is also stored as `error_message` unless one is given."""
    from_status = Status(subscription.status)
    to_status = Status(to_status)
    check_transition(from_status, to_status)
    now = now or utcnow()
    # How long the subscription spent in the status it leaves: the step's duration, for the log and the event.
    seconds_in_previous = round((now - subscription.status_changed_at).total_seconds(), 3)
    details = {**(details or {}), "seconds_in_previous_status": seconds_in_previous}
    values: dict[str, Any] = {"status": to_status, "updated_at": now, "status_changed_at": now}
    if error_message is None and to_status in CARRIES_REASON:
        error_message = message
    if error_message is not None:
        values["error_message"] = error_message

    await session.flush()
    result = await session.execute(
        update(Subscription)
        .where(Subscription.id == subscription.id, Subscription.status == from_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StatusConflict(subscription.id, from_status)
    for key, value in values.items():
        set_committed_value(subscription, key, value)

    row = SubscriptionEvent(
        subscription_id=subscription.id,
        at=now,
        event=event,
        from_status=from_status,
        to_status=to_status,
        message=message,
        details=details,
    )
    session.add(row)
    await session.flush()

    level = {Status.NEEDS_ATTENTION: "error", Status.ERROR: "warning"}.get(to_status, "info")
    if to_status is Status.ERROR and event in _AFTER_AN_UNWIND:
        level = "error"  # a leg did trade: an operator should know even though nothing is left open
    getattr(log, level)(
        "subscription_status_changed",
        subscription_id=subscription.id,
        reason=message,
        cause=event,
        seconds_in_previous_status=seconds_in_previous,
        since_created_seconds=round((now - subscription.created_at).total_seconds(), 3),
        **{"from": str(from_status), "to": str(to_status)},
    )
    return row


async def add_event(
    session: AsyncSession,
    subscription_id: int,
    event: str,
    *,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> SubscriptionEvent:
    """An audit-trail entry that is not a status change (e.g. `leverage_synced`, `funding_checked`)."""
    row = SubscriptionEvent(
        subscription_id=subscription_id, at=now or utcnow(), event=event, message=message, details=details
    )
    session.add(row)
    await session.flush()
    return row


async def events_for(session: AsyncSession, subscription_id: int) -> Sequence[SubscriptionEvent]:
    query = (
        select(SubscriptionEvent)
        .where(SubscriptionEvent.subscription_id == subscription_id)
        .order_by(SubscriptionEvent.id)
    )
    return (await session.scalars(query)).all()


# --- orders ----------------------------------------------------------------------------------------------------


async def add_order(
    session: AsyncSession,
    *,
    subscription_id: int,
    leg: Leg,
    purpose: OrderPurpose,
    exchange: str,
    symbol: str,
    side: OrderSide,
    amount: Decimal,
    client_order_id: str,
    now: datetime | None = None,
) -> Order:
    """Record an order as PENDING before it is sent (persist before act). Flushes, so a duplicate
    client_order_id fails here and not at commit."""
    order = Order(
        subscription_id=subscription_id,
        leg=Leg(leg),
        purpose=OrderPurpose(purpose),
        exchange=exchange,
        symbol=symbol,
        side=OrderSide(side),
        amount=amount,
        client_order_id=client_order_id,
        status=OrderStatus.PENDING,
        filled=Decimal(0),
        created_at=now or utcnow(),
    )
    session.add(order)
    await session.flush()
    return order


async def update_order(
    session: AsyncSession,
    order: Order,
    *,
    status: OrderStatus | None = None,
    exchange_order_id: str | None = None,
    filled: Decimal | None = None,
    average_price: Decimal | None = None,
    fee: Decimal | None = None,
    fee_currency: str | None = None,
    error_message: str | None = None,
    sent_at: datetime | None = None,
    acknowledged_at: datetime | None = None,
) -> Order:
    """Set the given fields (None means: leave unchanged). A status change must be allowed by the order table."""
    if status is not None:
        check_order_transition(order.client_order_id, order.status, status)
    changes: dict[str, Any] = {
        "status": OrderStatus(status) if status is not None else None,
        "exchange_order_id": exchange_order_id,
        "filled": filled,
        "average_price": average_price,
        "fee": fee,
        "fee_currency": fee_currency,
        "error_message": error_message,
        "sent_at": sent_at,
        "acknowledged_at": acknowledged_at,
    }
    for key, value in changes.items():
        if value is not None:
            setattr(order, key, value)
    await session.flush()
    return order


async def orders_for(session: AsyncSession, subscription_id: int) -> Sequence[Order]:
    query = select(Order).where(Order.subscription_id == subscription_id).order_by(Order.id)
    return (await session.scalars(query)).all()


# --- funding payments ------------------------------------------------------------------------------------------


async def add_funding_payment(
    session: AsyncSession,
    *,
    subscription_id: int,
    exchange: str,
    symbol: str,
    amount: Decimal,
    paid_at: datetime,
    exchange_payment_id: str,
) -> FundingPayment:
    """Record a subscription's share of a payment once: a second call with the same (subscription, exchange,
    exchange_payment_id) returns the stored row unchanged. Safe against a concurrent writer (INSERT ... ON
    CONFLICT DO NOTHING). Subscriptions sharing one exchange payment each record their own share of it."""
    await session.flush()
    values = {
        "subscription_id": subscription_id,
        "exchange": exchange,
        "symbol": symbol,
        "amount": amount,
        "paid_at": paid_at,
        "exchange_payment_id": exchange_payment_id,
        "created_at": utcnow(),
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(FundingPayment)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["subscription_id", "exchange", "exchange_payment_id"])
    )
    await session.execute(statement)
    stored = await session.scalar(
        select(FundingPayment).where(
            FundingPayment.subscription_id == subscription_id,
            FundingPayment.exchange == exchange,
            FundingPayment.exchange_payment_id == exchange_payment_id,
        )
    )
    assert stored is not None
    return stored


async def payments_for(session: AsyncSession, subscription_id: int) -> Sequence[FundingPayment]:
    query = (
        select(FundingPayment)
        .where(FundingPayment.subscription_id == subscription_id)
        .order_by(FundingPayment.paid_at, FundingPayment.id)
    )
    return (await session.scalars(query)).all()


async def orders_on(
    session: AsyncSession, exchange: str, symbol: str, *, funding_between: tuple[datetime, datetime] | None = None
) -> Sequence[Order]:
    """Every subscription's orders on one exchange and symbol (one-way accounts net them into one position),
    optionally only those of subscriptions whose funding time lies in `funding_between` (one funding event)."""
    query = select(Order).where(Order.exchange == exchange, Order.symbol == symbol).order_by(Order.id)
    if funding_between is not None:
        query = query.join(Subscription, Subscription.id == Order.subscription_id).where(
            Subscription.funding_time.between(*funding_between)
        )
    return (await session.scalars(query)).all()
