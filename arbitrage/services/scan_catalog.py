"""Market rules and cached funding intervals for a scan, without a request per symbol.

`ScanCatalog` answers from the `symbol_filters` rows where a database has them (one query per exchange), else from
the exchange's loaded markets with the tiers of one bulk read per exchange (the market's max leverage as one tier
where the venue has none). It writes nothing but freshly read funding
intervals onto rows that already exist. `cached_intervals` / `remember_intervals` are what the scanner asks of any
catalog (the daemon's `CachedMarketCatalog` has them too).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Protocol, runtime_checkable

from arbitrage.db import symbol_filters
from arbitrage.db.models import SymbolFilter, utcnow
from arbitrage.db.session import Database
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, LeverageTierInfo
from arbitrage.logging import get_logger
from arbitrage.services.market_refresh import filter_values
from arbitrage.services.markets import RulesFromFilters

log = get_logger(__name__)


@runtime_checkable
class IntervalCache(Protocol):
    async def cached_intervals(self, exchange: str) -> dict[str, int]: ...

    async def remember_intervals(self, exchange: str, intervals: dict[str, int]) -> None: ...


async def write_intervals(db: Database, exchange: str, intervals: dict[str, int]) -> None:
    if not intervals:
        return
    async with db.unit_of_work() as session:
        changed = await symbol_filters.update_funding_intervals(session, exchange, intervals, now=utcnow())
    if changed:
        log.info("funding_intervals_changed", exchange=exchange, symbols=changed[:20], count=len(changed))


class ScanCatalog(RulesFromFilters):
    def __init__(self, db: Database | None, connectors: ConnectorRegistry) -> None:
        self._db = db
        self._connectors = connectors
        self._rows: dict[str, dict[str, SymbolFilter]] = {}
        self._tiers: dict[str, dict[str, list[LeverageTierInfo]]] = {}
        self._tiers_lock = asyncio.Lock()

    async def _exchange_rows(self, exchange: str) -> dict[str, SymbolFilter]:
        if exchange not in self._rows:
            rows: dict[str, SymbolFilter] = {}
            if self._db is not None:
                async with self._db.unit_of_work() as session:
                    rows = {row.symbol: row for row in await symbol_filters.symbol_filters_for(session, exchange)}
            self._rows[exchange] = rows
        return self._rows[exchange]

    async def symbol_filter(self, exchange: str, symbol: str) -> SymbolFilter:
        rows = await self._exchange_rows(exchange)
        if symbol not in rows:  # not cached: the loaded market (raises unknown_symbol when it is not listed)
            connector = self._connectors.get(exchange)
            await connector.load_markets()
            market = connector.market(symbol)
            tiers = (await self._bulk_tiers(exchange)).get(symbol) or []
            if not tiers and market.max_leverage is not None:
                tiers = [LeverageTierInfo(Decimal(0), None, market.max_leverage)]
            rows[symbol] = SymbolFilter(**filter_values(market, tiers, None))
        return rows[symbol]

    async def _bulk_tiers(self, exchange: str) -> dict[str, list[LeverageTierInfo]]:
        """Every symbol's tiers as cheaply as the venue gives them (binanceusdm one call, bybit cursor pages,
        bingx and mexc none), once per exchange and only when a symbol is not cached."""
        if exchange not in self._tiers:
            async with self._tiers_lock:
                if exchange not in self._tiers:
                    try:
                        self._tiers[exchange] = await self._connectors.get(exchange).all_leverage_tiers()
                    except ExchangeError as error:
                        log.warning("scan_tiers_unavailable", exchange=exchange, error=error.user_message)
                        self._tiers[exchange] = {}
        return self._tiers[exchange]

    async def cached_intervals(self, exchange: str) -> dict[str, int]:
        rows = await self._exchange_rows(exchange)
        return {symbol: row.funding_interval_hours for symbol, row in rows.items() if row.funding_interval_hours}

    async def remember_intervals(self, exchange: str, intervals: dict[str, int]) -> None:
        if self._db is not None:
            await write_intervals(self._db, exchange, intervals)
