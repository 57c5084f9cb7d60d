"""`list` and `show` with a row edited by hand into values the models cannot read: that row is shown as invalid,
with its raw value, and the command keeps working for the others (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from arbitrage.db import repository as repo
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database, create_engine
from arbitrage.domain import Side

FUNDING = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)


async def _prepare(url: str, edits: list[tuple[str, str]]) -> list[int]:
    """Three subscriptions; the first ones get `edits` (column, raw value), past the status CHECK."""
    await upgrade_to_head(url)
    ids = []
    async with Database(url) as database, database.unit_of_work() as session:
        for index in range(3):
            row = await repo.create_subscription(
                session, primary_exchange="bybit", primary_symbol="BTC/USDT:USDT", hedge_exchange="bingx",
                hedge_symbol="BTC/USDT:USDT", side=Side.SHORT, amount=Decimal("0.01"),
                funding_time=FUNDING + timedelta(hours=index), lead_seconds=10)
            ids.append(row.id)
    engine = create_engine(url)
    async with engine.begin() as connection:
        if url.startswith("sqlite"):
            await connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        else:
            await connection.exec_driver_sql("ALTER TABLE subscriptions DROP CONSTRAINT ck_subscriptions_status")
        for subscription_id, (column, value) in zip(ids, edits, strict=False):
            await connection.execute(text(f"UPDATE subscriptions SET {column} = :value WHERE id = :id"),
                                     {"value": value, "id": subscription_id})
    await engine.dispose()
    return ids


@pytest.fixture
def db_url(workdir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", database_url)
    return database_url


def test_list_shows_unreadable_rows_as_invalid_and_the_others_as_usual(run: Any, db_url: str) -> None:
    bogus, bad_leverage, good = asyncio.run(_prepare(db_url, [("status", "BOGUS"), ("leverage", "abc")]))
    result = run("list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["id"] == good and rows[0]["status"] == "SCHEDULED"
    assert {row["id"]: row["invalid"] for row in rows[1:]} == {
        bogus: {"status": "'BOGUS'"}, bad_leverage: {"leverage": "'abc'"}}

    table = run("list")
    assert table.exit_code == 0, table.stderr
    assert "invalid row: status='BOGUS'" in table.stdout and "leverage='abc'" in table.stdout
    assert "SCHEDULED" in table.stdout and table.stdout.count("INVALID") == 2

    scheduled = run("list", "--status", "scheduled", "--json")
    assert [row.get("invalid") for row in json.loads(scheduled.stdout)] == [None, {"leverage": "'abc'"}]


def test_show_an_unreadable_row_marks_the_invalid_column_with_its_raw_value(run: Any, db_url: str) -> None:
    bogus, _, _ = asyncio.run(_prepare(db_url, [("status", "BOGUS")]))
    result = run("show", str(bogus))
    assert result.exit_code == 0, result.stderr
    assert "INVALID ROW" in result.stdout and "INVALID: 'BOGUS'" in result.stdout
    assert "bybit" in result.stdout, "the readable columns are shown as stored"
    assert "created" in result.stdout, "its events are still listed"
    detail = json.loads(run("show", str(bogus), "--json").stdout)
    assert detail["subscription"]["invalid"] == {"status": "'BOGUS'"}
    assert detail["subscription"]["stored"]["primary_exchange"] == "bybit"
    assert [event["event"] for event in detail["events"]] == ["created"]


def test_subscribe_works_next_to_an_unreadable_row(run: Any, db_url: str, sim: object) -> None:
    from test_cli import SUBSCRIBE

    asyncio.run(_prepare(db_url, [("leverage", "abc")]))
    result = run(*SUBSCRIBE)
    assert result.exit_code == 0, result.stderr
    listed = json.loads(run("list", "--json").stdout)
    assert len(listed) == 4 and sum("invalid" in row for row in listed) == 1
