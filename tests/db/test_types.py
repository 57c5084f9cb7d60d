"""Values read back exactly as written, on both backends: Decimals digit for digit, times as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arbitrage.db.models import Subscription
from arbitrage.domain import Side
from arbitrage.domain.status import Status

FUNDING = datetime(2030, 1, 1, 8, tzinfo=UTC)


def _subscription(**overrides: object) -> Subscription:
    values: dict[str, object] = {
        "primary_exchange": "bingx",
        "primary_symbol": "BTC/USDT:USDT",
        "hedge_exchange": "bybit",
        "hedge_symbol": "BTC/USDT:USDT",
        "side": Side.SHORT,
        "amount": Decimal("0.01"),
        "funding_time": FUNDING,
        "lead_seconds": 5,
        "status": Status.SCHEDULED,
    }
    values.update(overrides)
    return Subscription(**values)


async def _round_trip(sessions: async_sessionmaker[AsyncSession], **values: object) -> Subscription:
    async with sessions() as session:
        row = _subscription(**values)
        session.add(row)
        await session.commit()
        row_id = row.id
    async with sessions() as session:  # a fresh session: values come from the database, not the identity map
        stored = await session.get(Subscription, row_id)
        assert stored is not None
        return stored


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("0.01"),
        Decimal("0.000000000000000001"),  # 1e-18, the column's scale
        Decimal("123456789012345678.123456789012345678"),  # 36 significant digits: float would lose them
        Decimal("100"),
        Decimal("1E-7"),
    ],
)
async def test_decimal_round_trips_exactly(sessions: async_sessionmaker[AsyncSession], amount: Decimal) -> None:
    stored = await _round_trip(sessions, amount=amount, fees=amount.copy_negate())
    assert stored.amount == amount
    assert stored.fees == amount.copy_negate()
    assert format(stored.amount, "f") == format(amount, "f")  # no float noise, no padding to 18 places


async def test_decimal_beyond_scale_is_rounded_like_postgresql(sessions: async_sessionmaker[AsyncSession]) -> None:
    stored = await _round_trip(sessions, amount=Decimal("0.0000000000000000015"))
    assert stored.amount == Decimal("0.000000000000000002")


async def test_decimal_too_large_for_the_column_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(_subscription(amount=Decimal("1E+20")))
        with pytest.raises(StatementError, match="does not fit"):
            await session.flush()


async def test_float_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(_subscription(amount=0.1))
        with pytest.raises(StatementError, match="money never passes through float"):
            await session.flush()


@pytest.mark.parametrize(
    "written",
    [
        datetime(2030, 1, 1, 8, tzinfo=UTC),
        datetime(2030, 1, 1, 11, 30, tzinfo=timezone(timedelta(hours=3, minutes=30))),
        datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-8))),
    ],
)
async def test_times_read_back_as_aware_utc(sessions: async_sessionmaker[AsyncSession], written: datetime) -> None:
    stored = await _round_trip(sessions, funding_time=written)
    assert stored.funding_time == written
    assert stored.funding_time.tzinfo is UTC
    assert stored.created_at.tzinfo is UTC


async def test_naive_time_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        session.add(_subscription(funding_time=datetime(2030, 1, 1, 8)))
        with pytest.raises(StatementError, match="naive datetime"):
            await session.flush()


async def test_time_comparisons_happen_in_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _round_trip(sessions, funding_time=datetime(2030, 1, 1, 8, tzinfo=UTC))
    later_in_another_zone = datetime(2030, 1, 1, 10, 30, tzinfo=timezone(timedelta(hours=3)))  # 07:30 UTC
    async with sessions() as session:
        found = await session.scalars(select(Subscription).where(Subscription.funding_time > later_in_another_zone))
        assert len(found.all()) == 1


async def test_status_is_stored_as_its_plain_name(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _round_trip(sessions, status=Status.SCHEDULED)
    async with sessions() as session:
        assert (await session.scalar(text("SELECT status FROM subscriptions"))) == "SCHEDULED"
        stored = await session.scalar(select(Subscription))
        assert stored is not None and stored.status is Status.SCHEDULED


async def test_check_constraint_rejects_unknown_status_written_in_sql(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _round_trip(sessions)
    async with sessions() as session:
        with pytest.raises(Exception, match="(?i)check"):
            await session.execute(text("UPDATE subscriptions SET status = 'DONE'"))
