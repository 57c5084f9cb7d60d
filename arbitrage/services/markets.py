"""Market rules and leverage limits for the pipeline and the subscribe command.

`MarketCatalog` is what the services ask; `ConnectorMarketCatalog` answers from the connectors' loaded markets
and the exchanges' leverage tiers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from arbitrage.domain.leverage import (
    LeverageTier,
    default_max_leverage,
    max_leverage_for_notional,
)
from arbitrage.domain.sizing import MarketRules
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, MarketInfo
from arbitrage.logging import get_logger

log = get_logger(__name__)


class MarketCatalog(Protocol):
    async def rules(self, exchange: str, symbol: str) -> MarketRules: ...

    async def max_leverage(self, exchange: str, symbol: str, notional: Decimal) -> int: ...


def rules_from_market(market: MarketInfo) -> MarketRules:
    return MarketRules(
        exchange=market.exchange,
        symbol=market.symbol,
        step_size=market.step_size,
        min_qty=market.min_qty,
        min_notional=market.min_notional or Decimal(0),
        tick_size=market.tick_size,
        contract_size=market.contract_size,
    )


class ConnectorMarketCatalog:
    """Straight from the exchanges (markets are loaded once per connector; tiers cost one request)."""

    def __init__(self, connectors: ConnectorRegistry) -> None:
        self._connectors = connectors

    async def rules(self, exchange: str, symbol: str) -> MarketRules:
        connector = self._connectors.get(exchange)
        await connector.load_markets()  # a no-op once loaded; retries an exchange that was down at start
        market = connector.market(symbol)
        if not market.active:
            raise ExchangeError(exchange, "market", f"{symbol} is not tradable (delisted or suspended)",
                                kind="unknown_symbol")
        return rules_from_market(market)

    async def max_leverage(self, exchange: str, symbol: str, notional: Decimal) -> int:
        connector = self._connectors.get(exchange)
        tiers = [
            LeverageTier(t.notional_floor, t.notional_cap, t.max_leverage, t.maint_margin_rate)
            for t in await connector.leverage_tiers(symbol)
        ]
        if not tiers:
            fallback = connector.market(symbol).max_leverage or default_max_leverage(exchange)
            log.warning("leverage_limit_default_used", exchange=exchange, symbol=symbol, max_leverage=fallback)
            return fallback
        return max_leverage_for_notional(tiers, notional, exchange=exchange, symbol=symbol)
