"""Market rules and leverage limits for the pipeline and the subscribe command.

`MarketCatalog` is what the services ask. `CachedMarketCatalog` (the daemon's) answers from the `symbol_filters`
table without any request; on a miss it asks the exchange once (its loaded markets + one tier request where the
venue needs one), stores the row and answers from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from arbitrage.db import symbol_filters
from arbitrage.db.models import SymbolFilter, utcnow
from arbitrage.db.session import Database
from arbitrage.domain.leverage import (
    LeverageTier,
    default_max_leverage,
    max_leverage_for_notional,
    single_tier,
)
from arbitrage.domain.sizing import MarketRules
from arbitrage.exchanges.connector import ConnectorRegistry, ErrorKind, ExchangeError, MarketInfo
from arbitrage.logging import get_logger
from arbitrage.services.market_refresh import RefreshSummary, filter_values, refresh_markets

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


def rules_from_filter(row: SymbolFilter) -> MarketRules:
    if row.step_size is None:
        raise ExchangeError(row.exchange, "market", f"no amount step known for {row.symbol}", kind=ErrorKind.UNKNOWN_SYMBOL,
                            hint=f"run `arbitrage markets refresh --exchange {row.exchange}`")
    return MarketRules(
        exchange=row.exchange,
        symbol=row.symbol,
        step_size=row.step_size,
        min_qty=row.min_qty or Decimal(0),
        min_notional=row.min_notional or Decimal(0),
        tick_size=row.tick_size,
        contract_size=row.contract_size or Decimal(1),
    )


def tiers_from_filter(row: SymbolFilter) -> list[LeverageTier]:
    return [
        LeverageTier(
            notional_floor=Decimal(item["floor"]),
            notional_cap=Decimal(item["cap"]) if item.get("cap") is not None else None,
            max_leverage=int(item["max_leverage"]),
            maint_margin_rate=Decimal(item["maint_margin_rate"]) if item.get("maint_margin_rate") else None,
        )
        for item in row.leverage_tiers or []
    ]


def leverage_limit(exchange: str, symbol: str, tiers: list[LeverageTier], overall: int | None,
                   notional: Decimal) -> int:
    """The max leverage of the tier containing `notional`; the overall max, else the venue's documented default."""
    if not tiers:
        if overall is None:
            overall = default_max_leverage(exchange)
            log.warning("leverage_limit_default_used", exchange=exchange, symbol=symbol, max_leverage=overall)
        tiers = list(single_tier(overall))
    return max_leverage_for_notional(tiers, notional, exchange=exchange, symbol=symbol)


def require_listed(row: SymbolFilter) -> SymbolFilter:
    if row.delisted_at is not None:
        raise ExchangeError(
            row.exchange, "market",
            f"{row.symbol} is delisted on {row.exchange} (since {row.delisted_at.isoformat()})",
            kind=ErrorKind.UNKNOWN_SYMBOL,
        )
    return row


class RulesFromFilters:
    """`rules` and `max_leverage` of a catalog that can give a symbol's `symbol_filters` row."""

    async def symbol_filter(self, exchange: str, symbol: str) -> SymbolFilter:
        raise NotImplementedError

    async def rules(self, exchange: str, symbol: str) -> MarketRules:
        return rules_from_filter(require_listed(await self.symbol_filter(exchange, symbol)))

    async def max_leverage(self, exchange: str, symbol: str, notional: Decimal) -> int:
        row = await self.symbol_filter(exchange, symbol)
        return leverage_limit(exchange, symbol, tiers_from_filter(row), row.max_leverage, notional)


class CachedMarketCatalog(RulesFromFilters):
    """Lookups read `symbol_filters` (no network); a missing row is fetched from the exchange once and stored."""

    def __init__(self, db: Database, connectors: ConnectorRegistry) -> None:
        self._db = db
        self._connectors = connectors

    async def symbol_filter(self, exchange: str, symbol: str) -> SymbolFilter:
        """The cached row (delisted ones too); fetched and stored on a miss. Raises ExchangeError(kind=
        'unknown_symbol') when the exchange does not list the symbol, kind='not_configured' without a connector."""
        async with self._db.unit_of_work() as session:
            row = await symbol_filters.get_symbol_filter(session, exchange, symbol)
        if row is not None:
            return row
        log.info("symbol_filter_miss", exchange=exchange, symbol=symbol)
        values = await self._fetch(exchange, symbol)
        now = utcnow()
        async with self._db.unit_of_work() as session:
            await symbol_filters.upsert_symbol_filters(session, [values], now=now)
            row = await symbol_filters.get_symbol_filter(session, exchange, symbol)
        assert row is not None
        return row

    async def cached_intervals(self, exchange: str) -> dict[str, int]:
        """Every cached funding interval of one exchange (the scanner's fallback where a rate answer has none)."""
        async with self._db.unit_of_work() as session:
            rows = await symbol_filters.symbol_filters_for(session, exchange)
        return {row.symbol: row.funding_interval_hours for row in rows if row.funding_interval_hours}

    async def remember_intervals(self, exchange: str, intervals: dict[str, int]) -> None:
        """Store freshly read intervals on the cached rows that differ."""
        if intervals:
            async with self._db.unit_of_work() as session:
                await symbol_filters.update_funding_intervals(session, exchange, intervals, now=utcnow())

    async def refresh(self, exchanges: Iterable[str] | None = None, *, reload: bool = True) -> list[RefreshSummary]:
        return await refresh_markets(self._db, self._connectors, exchanges, reload=reload)

    async def refresh_job(self) -> None:
        """The daemon's periodic job: never raises (a failed refresh keeps the cached rows)."""
        try:
            await self.refresh()
        except Exception as error:  # the scheduler must keep running; the next run tries again
            log.exception("markets_refresh_crashed", error=str(error))

    async def _fetch(self, exchange: str, symbol: str) -> dict[str, Any]:
        connector = self._connectors.get(exchange)
        await connector.load_markets()
        try:
            market = connector.market(symbol)
        except ExchangeError as error:
            if error.kind != "unknown_symbol":
                raise
            await connector.load_markets(reload=True)  # listed since the markets were loaded?
            market = connector.market(symbol)
        try:
            tiers = await connector.leverage_tiers(symbol)
        except ExchangeError as error:
            if error.kind is ErrorKind.AUTH:
                raise
            log.warning("leverage_tiers_unavailable", exchange=exchange, symbol=symbol, error=error.user_message)
            tiers = []
        return filter_values(market, tiers, None)
