"""The auto-subscribe decision log (`auto_decisions`). Like the repository, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db.models import AutoDecision, AutoOutcome
from arbitrage.domain.opportunity import Opportunity


async def add_decision(
    session: AsyncSession, opportunity: Opportunity, outcome: AutoOutcome, *, at: datetime,
    reasons: Sequence[str] = (), subscription_id: int | None = None,
) -> AutoDecision:
    row = AutoDecision(
        at=at, funding_time=opportunity.funding_time, symbol=opportunity.symbol,
        primary_exchange=opportunity.primary, hedge_exchange=opportunity.hedge, side=opportunity.side,
        notional=opportunity.notional_usdt, expected_net=opportunity.net_usdt, outcome=outcome,
        reason="; ".join(reasons) or None, subscription_id=subscription_id,
    )
    session.add(row)
    await session.flush()
    return row


async def decisions_for(session: AsyncSession, funding_time: datetime | None = None) -> Sequence[AutoDecision]:
    query = select(AutoDecision).order_by(AutoDecision.id)
    if funding_time is not None:
        query = query.where(AutoDecision.funding_time == funding_time)
    return (await session.scalars(query)).all()
