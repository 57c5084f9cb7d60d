from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database, unit_of_work
from arbitrage.domain import Side


async def _add(session: AsyncSession) -> None:
    await repo.create_subscription(
        session,
        primary_exchange="bingx",
        primary_symbol="BTC/USDT:USDT",
        hedge_exchange="bybit",
        hedge_symbol="BTC/USDT:USDT",
        side=Side.LONG,
        amount=Decimal("1"),
        funding_time=datetime(2030, 1, 1, tzinfo=UTC),
        lead_seconds=5,
    )


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Subscription)) or 0)


async def test_unit_of_work_commits_at_the_boundary(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        await _add(session)
        assert await _count(sessions) == 0  # flushed in this transaction, not committed yet
    assert await _count(sessions) == 1


async def test_unit_of_work_rolls_back_on_exception(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            await _add(session)
            raise RuntimeError("boom")
    assert await _count(sessions) == 0


async def test_database_wrapper(migrated_database_url: str) -> None:
    async with Database(migrated_database_url) as database:
        async with database.unit_of_work() as session:
            await _add(session)
        assert await _count(database.sessions) == 1
