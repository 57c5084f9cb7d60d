"""`subscribe`'s note on a funding instant the order limits cannot take at the trigger (BingX: 5 orders / s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.subscription_request import NewSubscription
from arbitrage.services.instant_capacity import instant_note
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import order_windows

FUNDING = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
CONFIG = PipelineConfig(default_lead_seconds=5, min_lead_seconds={"bingx": 30})


def request(primary: str, hedge: str) -> NewSubscription:
    return NewSubscription(primary, "BTC/USDT:USDT", hedge, "BTC/USDT:USDT", Side.SHORT, Decimal("0.01"), 3, FUNDING,
                           5)


async def waiting(db: Database, count: int) -> None:
    async with db.unit_of_work() as session:
        for _ in range(count):
            await repo.create_subscription(
                session, primary_exchange="bingx", primary_symbol="BTC/USDT:USDT", hedge_exchange="bybit",
                hedge_symbol="BTC/USDT:USDT", side=Side.SHORT, amount=Decimal("0.01"), funding_time=FUNDING,
                lead_seconds=5)


async def test_an_instant_with_room_says_nothing(migrated_database_url: str) -> None:
    db = Database(migrated_database_url)
    await waiting(db, 3)
    assert await instant_note(db, request("bingx", "mexc"), CONFIG, order_windows({})) is None
    assert await instant_note(None, request("bingx", "mexc"), CONFIG, order_windows({})) is None
    await db.dispose()


async def test_a_full_instant_says_how_much_earlier_and_why(migrated_database_url: str) -> None:
    db = Database(migrated_database_url)
    await waiting(db, 5)  # bingx's five orders of the first second are taken
    note = await instant_note(db, request("bingx", "mexc"), CONFIG, order_windows({}))
    assert note is not None and note.startswith("bingx takes 5 orders per 1 s and 6 subscriptions trade it")
    assert "leave 1.15 s before its trigger" in note
    assert await instant_note(db, request("bingx", "mexc"), CONFIG, order_windows({"bingx": 2})) is None
    await db.dispose()
