from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arbitrage.db import repository as repo
from arbitrage.db.models import FundingPayment, Subscription, SubscriptionEvent
from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.status import InvalidTransition, OrderStatus, Status

NOW = datetime(2030, 1, 1, 7, 0, tzinfo=UTC)


async def _create(session: AsyncSession, **overrides: object) -> Subscription:
    values: dict[str, object] = {
        "primary_exchange": "bingx",
        "primary_symbol": "BTC/USDT:USDT",
        "hedge_exchange": "bybit",
        "hedge_symbol": "BTC/USDT:USDT",
        "side": Side.SHORT,
        "amount": Decimal("0.01"),
        "funding_time": datetime(2030, 1, 1, 8, tzinfo=UTC),
        "lead_seconds": 5,
        "leverage": 3,
        "now": NOW,
    }
    values.update(overrides)
    return await repo.create_subscription(session, **values)  # type: ignore[arg-type]


async def test_create_subscription_is_scheduled_with_a_created_event(session: AsyncSession) -> None:
    subscription = await _create(session)
    await session.commit()
    assert subscription.status is Status.SCHEDULED
    events = await repo.events_for(session, subscription.id)
    assert [(e.event, e.from_status, e.to_status) for e in events] == [("created", None, "SCHEDULED")]


async def test_list_subscriptions_filters_by_status_and_orders_by_funding_time(session: AsyncSession) -> None:
    late = await _create(session, funding_time=datetime(2030, 1, 2, tzinfo=UTC))
    early = await _create(session, funding_time=datetime(2030, 1, 1, tzinfo=UTC))
    cancelled = await _create(session)
    await repo.transition(session, cancelled, Status.CANCELLED)
    assert [s.id for s in await repo.list_subscriptions(session)] == [early.id, cancelled.id, late.id]
    assert [s.id for s in await repo.list_subscriptions(session, Status.SCHEDULED)] == [early.id, late.id]
    assert [s.id for s in await repo.list_subscriptions(session, [Status.CANCELLED])] == [cancelled.id]


async def test_transition_updates_row_appends_event_and_logs(session: AsyncSession) -> None:
    subscription = await _create(session)
    at = NOW + timedelta(minutes=1)
    with structlog.testing.capture_logs() as logs:
        event = await repo.transition(
            session,
            subscription,
            Status.SYNCING_LEVERAGE,
            event="triggered",
            message="trigger fired",
            details={"lag_ms": Decimal("1.5"), "at": at},
            now=at,
        )
    await session.commit()
    assert (subscription.status, subscription.updated_at, subscription.status_changed_at) == (
        Status.SYNCING_LEVERAGE,
        at,
        at,
    )
    assert (event.event, event.from_status, event.to_status, event.message) == (
        "triggered",
        "SCHEDULED",
        "SYNCING_LEVERAGE",
        "trigger fired",
    )
    session.expunge_all()
    stored = await repo.get_subscription(session, subscription.id)
    assert stored is not None and stored.status is Status.SYNCING_LEVERAGE
    events = await repo.events_for(session, subscription.id)
    # the step's duration: created at NOW, moved on a minute later
    assert events[-1].details == {"lag_ms": "1.5", "at": at.isoformat(), "seconds_in_previous_status": 60.0}
    assert [(line["event"], line["subscription_id"], line["from"], line["to"], line["reason"]) for line in logs] == [
        ("subscription_status_changed", subscription.id, "SCHEDULED", "SYNCING_LEVERAGE", "trigger fired")
    ]
    assert (logs[0]["seconds_in_previous_status"], logs[0]["since_created_seconds"]) == (60.0, 60.0)


async def test_transition_to_problem_status_records_error_message(session: AsyncSession) -> None:
    subscription = await _create(session)
    await repo.transition(session, subscription, Status.SYNCING_LEVERAGE)
    await repo.transition(session, subscription, Status.ERROR, message="bybit rejected leverage 50")
    assert subscription.error_message == "bybit rejected leverage 50"


async def test_invalid_transition_raises_and_changes_nothing(session: AsyncSession) -> None:
    subscription = await _create(session)
    with pytest.raises(InvalidTransition):
        await repo.transition(session, subscription, Status.COMPLETED)
    assert subscription.status is Status.SCHEDULED
    assert len(await repo.events_for(session, subscription.id)) == 1


async def test_transition_detects_a_concurrent_change(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        subscription = await _create(session)
        await session.commit()
    async with sessions() as daemon, sessions() as cli:
        seen_by_daemon = await repo.require_subscription(daemon, subscription.id)
        seen_by_cli = await repo.require_subscription(cli, subscription.id)
        await repo.transition(cli, seen_by_cli, Status.CANCELLED)
        await cli.commit()
        with pytest.raises(repo.StatusConflict):
            await repo.transition(daemon, seen_by_daemon, Status.SYNCING_LEVERAGE)
        await daemon.rollback()
    async with sessions() as session:
        stored = await repo.require_subscription(session, subscription.id)
        assert stored.status is Status.CANCELLED
        assert [e.event for e in await repo.events_for(session, subscription.id)] == ["created", "status_changed"]


async def test_require_subscription_raises_for_unknown_id(session: AsyncSession) -> None:
    with pytest.raises(repo.SubscriptionNotFound, match="subscription 999 not found"):
        await repo.require_subscription(session, 999)


async def test_orders_are_persisted_pending_then_updated(session: AsyncSession) -> None:
    subscription = await _create(session)
    order = await repo.add_order(
        session,
        subscription_id=subscription.id,
        leg=Leg.PRIMARY,
        purpose=OrderPurpose.OPEN,
        exchange="bingx",
        symbol="BTC/USDT:USDT",
        side=OrderSide.SELL,
        amount=Decimal("0.01"),
        client_order_id="arb-1-PO1",
    )
    assert order.status is OrderStatus.PENDING and order.filled == 0
    sent = NOW + timedelta(seconds=1)
    await repo.update_order(session, order, status=OrderStatus.SENT, sent_at=sent)
    await repo.update_order(
        session,
        order,
        status=OrderStatus.FILLED,
        exchange_order_id="123",
        filled=Decimal("0.01"),
        average_price=Decimal("65000.1"),
        fee=Decimal("0.26"),
        fee_currency="USDT",
        acknowledged_at=sent,
    )
    await session.commit()
    session.expunge_all()
    [stored] = await repo.orders_for(session, subscription.id)
    assert stored.client_order_id == "arb-1-PO1"
    assert (stored.status, stored.filled, stored.average_price, stored.fee, stored.sent_at) == (
        OrderStatus.FILLED,
        Decimal("0.01"),
        Decimal("65000.1"),
        Decimal("0.26"),
        sent,
    )


async def test_duplicate_client_order_id_fails_at_add(session: AsyncSession) -> None:
    subscription = await _create(session)
    common = dict(
        subscription_id=subscription.id,
        leg=Leg.HEDGE,
        purpose=OrderPurpose.OPEN,
        exchange="bybit",
        symbol="BTC/USDT:USDT",
        side=OrderSide.BUY,
        amount=Decimal("0.01"),
        client_order_id="arb-1-HO1",
    )
    await repo.add_order(session, **common)  # type: ignore[arg-type]
    with pytest.raises(IntegrityError):
        await repo.add_order(session, **common)  # type: ignore[arg-type]


async def test_funding_payment_is_recorded_once(session: AsyncSession) -> None:
    subscription = await _create(session)
    payment = dict(
        subscription_id=subscription.id,
        exchange="bingx",
        symbol="BTC/USDT:USDT",
        amount=Decimal("0.1234"),
        paid_at=datetime(2030, 1, 1, 8, tzinfo=UTC),
        exchange_payment_id="p-1",
    )
    first = await repo.add_funding_payment(session, **payment)  # type: ignore[arg-type]
    again = await repo.add_funding_payment(session, **{**payment, "amount": Decimal("9")})  # type: ignore[arg-type]
    other = await repo.add_funding_payment(session, **{**payment, "exchange": "bybit", "amount": Decimal("-0.1")})  # type: ignore[arg-type]
    await session.commit()
    assert again.id == first.id and again.amount == Decimal("0.1234")
    assert other.id != first.id
    assert [p.amount for p in await repo.payments_for(session, subscription.id)] == [Decimal("0.1234"), Decimal("-0.1")]
    assert await session.scalar(select(func.count()).select_from(FundingPayment)) == 2


async def test_one_exchange_payment_is_shared_by_subscriptions(session: AsyncSession) -> None:
    first, second = await _create(session), await _create(session)
    payment = dict(exchange="bybit", symbol="BTC/USDT:USDT", paid_at=datetime(2030, 1, 1, 8, tzinfo=UTC),
                   exchange_payment_id="p-9")
    await repo.add_funding_payment(session, subscription_id=first.id, amount=Decimal("0.18"), **payment)  # type: ignore[arg-type]
    await repo.add_funding_payment(session, subscription_id=second.id, amount=Decimal("0.36"), **payment)  # type: ignore[arg-type]
    await session.commit()
    assert [p.amount for p in await repo.payments_for(session, first.id)] == [Decimal("0.18")]
    assert [p.amount for p in await repo.payments_for(session, second.id)] == [Decimal("0.36")]


async def test_add_event_without_status_change(session: AsyncSession) -> None:
    subscription = await _create(session)
    await repo.add_event(session, subscription.id, "leverage_synced", details={"bybit": 3, "bingx": 3})
    events = await repo.events_for(session, subscription.id)
    assert (events[-1].event, events[-1].from_status, events[-1].to_status, events[-1].details) == (
        "leverage_synced",
        None,
        None,
        {"bybit": 3, "bingx": 3},
    )
    assert json.dumps(events[-1].details)
    assert await session.scalar(select(func.count()).select_from(SubscriptionEvent)) == 2
