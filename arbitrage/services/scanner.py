"""The funding scanner: every symbol listed on two or more exchanges, every ordered pair and side, ranked by
what one subscription should earn at the next instant at current rates (`arbitrage scan`, auto-subscribe)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from arbitrage.domain.opportunity import Opportunity
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.services.markets import MarketCatalog
from arbitrage.settings import Settings


async def scan_opportunities(
    connectors: ConnectorRegistry,
    markets: MarketCatalog,
    settings: Settings,
    *,
    notional_usdt: Decimal,
    exchanges: Sequence[str] | None = None,
) -> list[Opportunity]:
    """Every candidate subscription across `exchanges` (default: every configured connector), sorted by
    `net_usdt` descending.

    One funding-rate request per exchange (all symbols), one order-book read per leg considered. A candidate
    that would fail a market rule (listing, minimum notional or quantity, leverage tier at `notional_usdt`) is
    kept with `blocked_reason` set; callers filter those out when they only want subscribable rows.
    """
    raise NotImplementedError
