"""A new subscription reviewed before it is stored, then stored: what `arbitrage subscribe` calls.

The review reads (the credentials, the markets, the current rates, the live subscriptions) and writes nothing;
refusals are `InputError` or `CredentialsRejected`. Only an accepted review is stored, together with the market rows
fetched for it, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db import repository as repo
from arbitrage.db.models import CreatedBy, Subscription
from arbitrage.db.session import Database
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.subscription_request import NewSubscription
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.services.subscription_market_checks import PendingCatalog, check_against_markets, store_fetched
from arbitrage.services.subscription_trader_checks import (
    check_credentials,
    check_duplicate,
    check_economics,
    estimate_spread,
)

BOOK_LEVELS = 20  # the order-book levels read per leg for the spread estimate (ARBITRAGE_SCAN_BOOK_LEVELS)


@dataclass(frozen=True)
class Review:
    request: NewSubscription  # amount rounded, funding time resolved
    catalog: PendingCatalog
    notes: list[str]
    warnings: list[str]


async def review_subscription(
    db: Database | None, connectors: ConnectorRegistry, request: NewSubscription, *, default_leverage: int,
    now: datetime, symbol_options: tuple[str, str], force: bool, book_levels: int = BOOK_LEVELS,
) -> Review:
    """Every check against the exchanges and the existing database (None: there is none yet)."""
    warnings = await check_credentials(connectors, [request.primary_exchange, request.hedge_exchange])
    catalog = PendingCatalog(db, connectors)
    checked = await check_against_markets(
        catalog, connectors, request, default_leverage=default_leverage, now=now, symbol_options=symbol_options,
        force=force,
    )
    spread = await estimate_spread(connectors, checked.request, book_levels)
    findings = check_economics(checked.request, checked.view, connectors, force=force, spread=spread)
    duplicates = await check_duplicate(db, checked.request, force=force)
    return Review(checked.request, catalog, [*checked.notes, *findings.notes],
                  [*warnings, *findings.warnings, *duplicates])


async def store_reviewed(
    session: AsyncSession, review: Review, now: datetime, *, created_by: CreatedBy = CreatedBy.CLI,
    estimate: Opportunity | None = None,
) -> Subscription:
    await store_fetched(session, review.catalog, now)
    request = review.request
    assert request.funding_time is not None
    return await repo.create_subscription(
        session,
        primary_exchange=request.primary_exchange,
        primary_symbol=request.primary_symbol,
        hedge_exchange=request.hedge_exchange,
        hedge_symbol=request.hedge_symbol,
        side=request.side,
        amount=request.amount,
        leverage=request.leverage,
        funding_time=request.funding_time,
        lead_seconds=request.lead_seconds,
        now=now,
        created_by=created_by,
        estimate=estimate,
    )
