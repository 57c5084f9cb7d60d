"""The entry's amount and leverage: one computation for `arbitrage subscribe` (with today's prices) and for the
pipeline's preparation (at the trigger), so that what the command announces is what the daemon applies.

The price is the primary's mark price, else the hedge's. The amount is rounded down to the step both exchanges
accept and checked against both exchanges' minimums at that price; each exchange's maximum leverage is read from
its tier at the resulting notional; the request (else the default) is capped by the lower of the two.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from arbitrage.domain.leverage import LeverageRequest, LeverageResolution, resolve_leverage
from arbitrage.domain.sizing import SizedAmount, round_amount_to_both
from arbitrage.exchanges.connector import FundingRateInfo
from arbitrage.services.markets import MarketCatalog


class EntryRequest(Protocol):
    """What is asked for: a stored subscription, or one being checked before it is stored."""

    @property
    def primary_exchange(self) -> str: ...
    @property
    def primary_symbol(self) -> str: ...
    @property
    def hedge_exchange(self) -> str: ...
    @property
    def hedge_symbol(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def leverage(self) -> LeverageRequest | None: ...


@dataclass(frozen=True)
class EntrySizing:
    price: Decimal | None
    sized: SizedAmount
    notional: Decimal  # 0 when no price is known
    leverage: LeverageResolution

    @property
    def amount(self) -> Decimal:
        return self.sized.amount


async def plan_entry(
    markets: MarketCatalog, request: EntryRequest, primary_rate: FundingRateInfo, hedge_rate: FundingRateInfo,
    default_leverage: LeverageRequest,
) -> EntrySizing:
    """Raises `SizingError` when no amount fits both exchanges, `LeverageError` when no leverage does."""
    primary_rules, hedge_rules = await asyncio.gather(
        markets.rules(request.primary_exchange, request.primary_symbol),
        markets.rules(request.hedge_exchange, request.hedge_symbol),
    )
    price = primary_rate.mark_price or hedge_rate.mark_price
    sized = round_amount_to_both(request.amount, primary_rules, hedge_rules, price)
    notional = sized.amount * price if price is not None else Decimal(0)
    primary_max, hedge_max = await asyncio.gather(
        markets.max_leverage(request.primary_exchange, request.primary_symbol, notional),
        markets.max_leverage(request.hedge_exchange, request.hedge_symbol, notional),
    )
    resolution = resolve_leverage(
        request.leverage, default_leverage, primary_max, hedge_max, request.primary_exchange, request.hedge_exchange,
    )
    return EntrySizing(price, sized, notional, resolution)
