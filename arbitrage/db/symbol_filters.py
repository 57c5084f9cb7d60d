"""Queries on `symbol_filters`, the market metadata cache (one row per exchange and symbol). Like the repository,
these take the session they are given and never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db.models import SymbolFilter

# Rows per INSERT ... ON CONFLICT statement: 500 rows × 12 columns stays far below both drivers' parameter limits.
_UPSERT_CHUNK = 500


async def get_symbol_filter(session: AsyncSession, exchange: str, symbol: str) -> SymbolFilter | None:
    return await session.scalar(
        select(SymbolFilter).where(SymbolFilter.exchange == exchange, SymbolFilter.symbol == symbol)
    )


async def symbol_filters_for(session: AsyncSession, exchange: str) -> Sequence[SymbolFilter]:
    """Every cached row of one exchange, delisted ones included, by symbol."""
    query = select(SymbolFilter).where(SymbolFilter.exchange == exchange).order_by(SymbolFilter.symbol)
    return (await session.scalars(query)).all()


async def count_symbol_filters(session: AsyncSession, exchange: str) -> int:
    query = select(func.count()).select_from(SymbolFilter).where(SymbolFilter.exchange == exchange)
    return int(await session.scalar(query) or 0)


async def upsert_symbol_filters(session: AsyncSession, rows: Sequence[dict[str, Any]], *, now: datetime) -> None:
    """Insert or replace rows keyed by (exchange, symbol); each dict holds every rule column. `created_at` is kept
    on update. Safe against a concurrent writer (the CLI filling a miss while the daemon refreshes)."""
    await session.flush()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(rows), _UPSERT_CHUNK):
        chunk = [{**row, "created_at": now, "updated_at": now} for row in rows[start : start + _UPSERT_CHUNK]]
        statement = insert(SymbolFilter).values(chunk)
        replaced = {name: statement.excluded[name] for name in chunk[0] if name not in ("exchange", "symbol", "created_at")}
        await session.execute(
            statement.on_conflict_do_update(index_elements=["exchange", "symbol"], set_=replaced)
        )


async def mark_symbols_delisted(session: AsyncSession, exchange: str, symbols: Iterable[str], *, now: datetime) -> None:
    symbols = list(symbols)
    if symbols:
        await session.execute(
            update(SymbolFilter)
            .where(SymbolFilter.exchange == exchange, SymbolFilter.symbol.in_(symbols))
            .values(delisted_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def update_funding_intervals(
    session: AsyncSession, exchange: str, intervals: dict[str, int], *, now: datetime
) -> list[str]:
    """Store freshly read funding intervals on the rows that exist and differ; returns the symbols changed."""
    rows = {row.symbol: row for row in await symbol_filters_for(session, exchange)}
    changed = [symbol for symbol, hours in intervals.items()
               if symbol in rows and rows[symbol].funding_interval_hours != hours]
    for symbol in changed:
        await session.execute(
            update(SymbolFilter)
            .where(SymbolFilter.exchange == exchange, SymbolFilter.symbol == symbol)
            .values(funding_interval_hours=intervals[symbol], updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return changed
