"""Completed subscriptions as results for `arbitrage report`. Like the repository, never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db.models import Subscription
from arbitrage.domain.results import ZERO, Result
from arbitrage.domain.status import Status


async def completed_results(session: AsyncSession, since: datetime | None = None) -> list[Result]:
    """COMPLETED subscriptions (funding instant at or after `since`), oldest instant first."""
    query = select(Subscription).where(Subscription.status == Status.COMPLETED)
    if since is not None:
        query = query.where(Subscription.funding_time >= since)
    rows = (await session.scalars(query.order_by(Subscription.funding_time, Subscription.id))).all()
    return [
        Result(primary=row.primary_exchange, symbol=row.primary_symbol, funding_time=row.funding_time,
               funding=row.funding_received or ZERO, fees=row.fees or ZERO, price_pnl=row.price_pnl,
               realized=row.realized_pnl or ZERO, estimate_net=row.estimate_net)
        for row in rows
    ]
