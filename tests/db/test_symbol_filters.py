"""symbol_filters upserts and the leverage column ('max' or an integer), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db import repository as repo
from arbitrage.db import symbol_filters
from arbitrage.domain import Side

T0 = datetime(2026, 11, 21, 8, tzinfo=UTC)


def _row(symbol: str, step: str) -> dict[str, object]:
    return {
        "exchange": "bybit", "symbol": symbol, "tick_size": Decimal("0.1"), "step_size": Decimal(step),
        "min_qty": Decimal(step), "min_notional": Decimal(5), "contract_size": Decimal(1), "max_leverage": 100,
        "leverage_tiers": [{"floor": "0", "cap": "2000000", "max_leverage": 100, "maint_margin_rate": "0.005"}],
        "funding_interval_hours": 8, "delisted_at": None,
    }


async def test_upsert_inserts_then_replaces_keeping_created_at(session: AsyncSession) -> None:
    await symbol_filters.upsert_symbol_filters(session, [_row("BTC/USDT:USDT", "0.001"), _row("ETH/USDT:USDT", "0.01")], now=T0)
    later = T0 + timedelta(hours=1)
    await symbol_filters.upsert_symbol_filters(session, [_row("BTC/USDT:USDT", "0.0001")], now=later)
    await symbol_filters.mark_symbols_delisted(session, "bybit", ["ETH/USDT:USDT"], now=later)
    await session.commit()
    session.expire_all()
    btc = await symbol_filters.get_symbol_filter(session, "bybit", "BTC/USDT:USDT")
    eth = await symbol_filters.get_symbol_filter(session, "bybit", "ETH/USDT:USDT")
    assert btc is not None and eth is not None
    assert (btc.step_size, btc.created_at, btc.updated_at) == (Decimal("0.0001"), T0, later)
    assert btc.leverage_tiers[0]["cap"] == "2000000"
    assert (eth.delisted_at, eth.step_size) == (later, Decimal("0.01"))
    assert [row.symbol for row in await symbol_filters.symbol_filters_for(session, "bybit")] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert await symbol_filters.count_symbol_filters(session, "mexc") == 0


@pytest.mark.parametrize(("leverage", "stored"), [(None, None), (7, "7"), ("max", "max")])
async def test_leverage_is_an_integer_or_max(session: AsyncSession, leverage: object, stored: str | None) -> None:
    subscription = await repo.create_subscription(
        session, primary_exchange="bybit", primary_symbol="BTC/USDT:USDT", hedge_exchange="mexc",
        hedge_symbol="BTC/USDT:USDT", side=Side.LONG, amount=Decimal("0.01"), funding_time=T0, lead_seconds=5,
        leverage=leverage,  # type: ignore[arg-type]
    )
    subscription_id = subscription.id
    await session.commit()
    raw = await session.scalar(text("SELECT leverage FROM subscriptions WHERE id = :id"), {"id": subscription_id})
    assert raw == stored  # what users read in SQL
    session.expire_all()
    assert (await repo.require_subscription(session, subscription_id)).leverage == leverage


@pytest.mark.parametrize("leverage", [0, "most", 2.5])
async def test_other_leverage_values_are_refused(session: AsyncSession, leverage: object) -> None:
    with pytest.raises(StatementError, match="must be an integer >= 1 or 'max'"):
        await repo.create_subscription(
            session, primary_exchange="bybit", primary_symbol="BTC/USDT:USDT", hedge_exchange="mexc",
            hedge_symbol="BTC/USDT:USDT", side=Side.LONG, amount=Decimal("0.01"), funding_time=T0, lead_seconds=5,
            leverage=leverage,  # type: ignore[arg-type]
        )
