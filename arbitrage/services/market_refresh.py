"""Refresh of the `symbol_filters` cache: every USDT-margined linear perpetual of an exchange, in one transaction.

Per venue the tiers come as cheaply as the venue allows (see each connector's `_all_leverage_tiers`):
binanceusdm one signed `leverageBracket` call for all symbols; bybit the `risk-limit` list paged by cursor
(~30 symbols a page); bingx and mexc no request at all (the market's max leverage as one unbounded tier: BingX's
tier endpoint has no max leverage and is per symbol, MEXC's tiers are in contracts). A symbol the bulk answer
missed (bybit truncates silently after 200 pages) falls back to its market's max leverage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from arbitrage.db import symbol_filters
from arbitrage.db.models import SymbolFilter, utcnow
from arbitrage.db.session import Database
from arbitrage.db.types import canonical_decimal
from arbitrage.exchanges.connector import (
    ConnectorRegistry,
    ExchangeConnector,
    ExchangeError,
    LeverageTierInfo,
    MarketInfo,
)
from arbitrage.logging import get_logger

log = get_logger(__name__)

# The columns a refresh owns; a row whose values all match is left alone.
RULE_COLUMNS = (
    "tick_size", "step_size", "min_qty", "min_notional", "contract_size", "max_leverage", "leverage_tiers",
    "funding_interval_hours", "delisted_at",
)


@dataclass(frozen=True)
class MarketSnapshot:
    """What one exchange lists now, with tiers and funding intervals (fetched without touching the database)."""

    exchange: str
    markets: list[MarketInfo]
    tiers: dict[str, list[LeverageTierInfo]]
    intervals: dict[str, int]


@dataclass
class RefreshSummary:
    exchange: str
    listed: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    delisted: list[str] = field(default_factory=list)
    relisted: list[str] = field(default_factory=list)
    fetch_seconds: float = 0.0
    write_seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.exchange}: refresh failed: {self.error}"
        text = (
            f"{self.exchange}: {self.listed} symbols ({len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.delisted)} delisted"
        )
        if self.relisted:
            text += f", {len(self.relisted)} relisted"
        return text + f") in {self.fetch_seconds + self.write_seconds:.2f} s"


def tiers_to_json(tiers: Sequence[LeverageTierInfo]) -> list[dict[str, Any]]:
    """Tiers as users read them in SQL: decimal strings, ordered by floor, cap null = unbounded."""
    return [
        {
            "floor": _text(tier.notional_floor),
            "cap": _text(tier.notional_cap),
            "max_leverage": tier.max_leverage,
            "maint_margin_rate": _text(tier.maint_margin_rate),
        }
        for tier in sorted(tiers, key=lambda tier: tier.notional_floor)
    ]


def filter_values(
    market: MarketInfo, tiers: Sequence[LeverageTierInfo], interval_hours: int | None
) -> dict[str, Any]:
    """One `symbol_filters` row (without timestamps) from the exchange's market and tiers."""
    max_leverage = max((tier.max_leverage for tier in tiers), default=market.max_leverage)
    return {
        "exchange": market.exchange,
        "symbol": market.symbol,
        "tick_size": market.tick_size,
        "step_size": market.step_size,
        "min_qty": market.min_qty,
        "min_notional": market.min_notional,
        "contract_size": market.contract_size,
        "max_leverage": max_leverage,
        "leverage_tiers": tiers_to_json(tiers) if tiers else None,
        "funding_interval_hours": interval_hours or market.funding_interval_hours,
        "delisted_at": None if market.active else utcnow(),
    }


async def fetch_snapshot(connector: ExchangeConnector, *, reload: bool = True) -> MarketSnapshot:
    await connector.load_markets(reload=reload)
    markets = connector.markets()
    tiers, intervals = await asyncio.gather(connector.all_leverage_tiers(), connector.funding_intervals())
    return MarketSnapshot(connector.exchange_id, markets, tiers, intervals)


async def store_snapshot(db: Database, snapshot: MarketSnapshot, *, now: datetime | None = None) -> RefreshSummary:
    """Upsert what is listed, mark what disappeared (or turned inactive) as delisted; one transaction."""
    now = now or utcnow()
    summary = RefreshSummary(snapshot.exchange, listed=sum(1 for market in snapshot.markets if market.active))
    async with db.unit_of_work() as session:
        existing = {row.symbol: row for row in await symbol_filters.symbol_filters_for(session, snapshot.exchange)}
        to_write: list[dict[str, Any]] = []
        seen: set[str] = set()
        for market in snapshot.markets:
            seen.add(market.symbol)
            tiers = snapshot.tiers.get(market.symbol) or []
            if not tiers and market.max_leverage is not None:
                tiers = [LeverageTierInfo(Decimal(0), None, market.max_leverage)]
            values = filter_values(market, tiers, snapshot.intervals.get(market.symbol))
            row = existing.get(market.symbol)
            if row is None:
                summary.added.append(market.symbol)
            elif row.delisted_at is not None and values["delisted_at"] is None:
                summary.relisted.append(market.symbol)
            elif row.delisted_at is None and values["delisted_at"] is not None:
                summary.delisted.append(market.symbol)
            elif not _same(row, values):
                summary.changed.append(market.symbol)
            else:
                continue
            if row is not None and row.delisted_at is not None and values["delisted_at"] is not None:
                values["delisted_at"] = row.delisted_at  # still inactive: keep when it went
            to_write.append(values)
        gone = [symbol for symbol, row in existing.items() if symbol not in seen and row.delisted_at is None]
        summary.delisted.extend(gone)
        await symbol_filters.upsert_symbol_filters(session, to_write, now=now)
        await symbol_filters.mark_symbols_delisted(session, snapshot.exchange, gone, now=now)
    log.info(
        "markets_refreshed", exchange=snapshot.exchange, listed=summary.listed, added=len(summary.added),
        changed=len(summary.changed), delisted=len(summary.delisted), relisted=len(summary.relisted),
    )
    if summary.delisted:
        log.warning("symbols_delisted", exchange=snapshot.exchange, symbols=summary.delisted[:20])
    return summary


async def refresh_markets(
    db: Database, connectors: ConnectorRegistry, exchanges: Iterable[str] | None = None, *, reload: bool = True
) -> list[RefreshSummary]:
    """Every (or the given) configured exchange: fetched concurrently, written one exchange (transaction) at a
    time. An exchange that fails is reported in its summary; the others are still refreshed."""
    wanted = list(exchanges) if exchanges is not None else sorted(connectors.connectors)
    started = time.perf_counter()
    results = await asyncio.gather(
        *(_fetch_timed(connectors.get(exchange), reload) for exchange in wanted)
    )
    summaries = []
    for exchange, (snapshot, seconds, error) in zip(wanted, results, strict=True):
        if snapshot is None:
            log.error("markets_refresh_failed", exchange=exchange, error=error)
            summaries.append(RefreshSummary(exchange, error=error))
            continue
        write_started = time.perf_counter()
        summary = await store_snapshot(db, snapshot)
        summary.fetch_seconds = seconds
        summary.write_seconds = time.perf_counter() - write_started
        summaries.append(summary)
    log.info("markets_refresh_done", exchanges=wanted, seconds=round(time.perf_counter() - started, 3))
    return summaries


async def _fetch_timed(
    connector: ExchangeConnector, reload: bool
) -> tuple[MarketSnapshot | None, float, str | None]:
    started = time.perf_counter()
    try:
        return await fetch_snapshot(connector, reload=reload), time.perf_counter() - started, None
    except ExchangeError as error:
        return None, time.perf_counter() - started, error.user_message


def _same(row: SymbolFilter, values: dict[str, Any]) -> bool:
    return all(getattr(row, column) == values[column] for column in RULE_COLUMNS if column != "delisted_at")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(canonical_decimal(value), "f")
