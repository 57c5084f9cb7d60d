"""Rows changed under the running daemon (by SQL, as an operator would): an unknown status, a column edited into
garbage, a deleted row, a database that drops its connections. The daemon never crashes, what it opened is
closed on schedule, and the row says NEEDS_ATTENTION (written by id), with an ERROR log line."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
import structlog
from e2e_harness import ORDER_PATHS, DaemonHarness
from sqlalchemy import text

from arbitrage.db.session import create_engine
from arbitrage.domain import OrderSide, Side
from arbitrage.exchanges.factory import build_connectors
from arbitrage.domain.status import Status

BTC = "BTC/USDT:USDT"
PRIMARY, HEDGE = "bybit", "binanceusdm"


async def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run `statement` as an operator's SQL session would, past the status CHECK constraint (SQLite: the pragma
    that ignores it; PostgreSQL: the constraint dropped), and return the rows it yields."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if url.startswith("sqlite"):
                await connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
            else:
                await connection.exec_driver_sql(
                    "ALTER TABLE subscriptions DROP CONSTRAINT IF EXISTS ck_subscriptions_status")
            result = await connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def raw_row(url: str, subscription_id: int) -> dict[str, Any] | None:
    rows = await sql(url, "SELECT CAST(status AS TEXT) AS status, error_message FROM subscriptions WHERE id = :id",
                     id=subscription_id)
    return dict(rows[0]._mapping) if rows else None


async def wait_for(condition: Any, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def flat(sim: Any, exchange: str) -> bool:
    venue = sim.engine.venue(exchange)
    return venue.position_views(venue.default_account(), BTC) == []


async def open_subscription(sim: Any, harness_factory: Any, url: str) -> tuple[int, DaemonHarness]:
    harness = await harness_factory(url)
    subscription_id, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=4)
    await harness.start()
    await wait_for(lambda: _status_is(url, subscription_id, "OPEN"))
    assert not flat(sim, PRIMARY) and not flat(sim, HEDGE)
    return subscription_id, harness


async def _status_is(url: str, subscription_id: int, status: str) -> bool:
    row = await raw_row(url, subscription_id)
    return row is not None and row["status"] == status


@pytest.mark.parametrize(("column", "value", "shown"), [
    ("status", "BOGUS", "'BOGUS', a value the daemon does not know"),
    ("leverage", "abc", "leverage='abc'"),
])
async def test_open_row_edited_into_garbage_is_closed_on_schedule_and_needs_attention(
    sim, harness_factory, database_url, column, value, shown
):
    subscription_id, harness = await open_subscription(sim, harness_factory, database_url)
    with structlog.testing.capture_logs() as logs:
        await sql(database_url, f"UPDATE subscriptions SET {column} = :value WHERE id = :id", value=value,
                  id=subscription_id)
        await wait_for(lambda: _status_is(database_url, subscription_id, "NEEDS_ATTENTION"))
    row = await raw_row(database_url, subscription_id)
    assert shown in row["error_message"] and "both legs were closed on schedule (flat)" in row["error_message"]
    assert flat(sim, PRIMARY) and flat(sim, HEDGE), "the daemon closed what it opened"
    assert any(line["log_level"] == "error" and line["event"] == "subscription_changed_while_holding"
               for line in logs)
    assert not any(line["event"] == "pipeline_crashed" for line in logs)
    events = await sql(database_url, "SELECT event, from_status, to_status FROM subscription_events "
                       "WHERE subscription_id = :id ORDER BY id", id=subscription_id)
    assert tuple(events[-1]) == ("row_changed", value if column == "status" else "OPEN", "NEEDS_ATTENTION")
    closes = await sql(database_url, "SELECT status FROM orders WHERE subscription_id = :id AND purpose = 'CLOSE'",
                       id=subscription_id)
    assert sorted(r[0] for r in closes) == ["FILLED", "FILLED"], "the closes were recorded"
    assert harness.task is not None and not harness.task.done(), "the daemon keeps running"


async def test_deleted_row_with_open_legs_still_closes_them_loudly(sim, harness_factory, database_url):
    subscription_id, harness = await open_subscription(sim, harness_factory, database_url)
    with structlog.testing.capture_logs() as logs:
        for table in ("funding_payments", "subscription_events", "orders"):
            await sql(database_url, f"DELETE FROM {table} WHERE subscription_id = :id", id=subscription_id)
        await sql(database_url, "DELETE FROM subscriptions WHERE id = :id", id=subscription_id)
        await wait_for(lambda: _flat_both(sim))
        await wait_for(lambda: _logged(logs, "subscription_row_deleted"))
    assert flat(sim, PRIMARY) and flat(sim, HEDGE), "the legs closed although their row is gone"
    assert any(line["event"] == "orders_not_recorded_sent_anyway" and line["log_level"] == "error"
               for line in logs)
    assert await raw_row(database_url, subscription_id) is None
    assert harness.task is not None and not harness.task.done()


async def _flat_both(sim: Any) -> bool:
    return flat(sim, PRIMARY) and flat(sim, HEDGE)


async def _logged(logs: list[dict[str, Any]], event: str) -> bool:
    return any(line["event"] == event and line["log_level"] == "error" for line in logs)


async def test_scheduled_row_set_to_garbage_is_reported_as_such_and_nothing_is_sent(
    sim, harness_factory, database_url
):
    harness = await harness_factory(database_url)
    subscription_id, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=6)
    with structlog.testing.capture_logs() as logs:
        await harness.start()
        await wait_for(lambda: _logged_info(logs, "subscription_scheduled"))
        await sql(database_url, "UPDATE subscriptions SET status = 'BOGUS' WHERE id = :id", id=subscription_id)
        await wait_for(lambda: _logged(logs, "subscription_row_invalid"))
        await asyncio.sleep(0.5)  # a poll later: reported once, not again
    invalid = [line for line in logs if line["event"] == "subscription_row_invalid"]
    assert len(invalid) == 1 and "status 'BOGUS' is not one the daemon knows" in invalid[0]["problem"]
    assert [line["log_level"] for line in logs if line["event"] == "subscription_unscheduled"] == ["error"]
    events = await sql(database_url, "SELECT event, message FROM subscription_events WHERE subscription_id = :id "
                       "ORDER BY id", id=subscription_id)
    assert events[-1][0] == "row_invalid" and "the daemon does not trade it" in events[-1][1]
    assert harness.requests(PRIMARY, ORDER_PATHS[PRIMARY]) == [] == harness.requests(HEDGE, ORDER_PATHS[HEDGE])
    assert (await raw_row(database_url, subscription_id))["status"] == "BOGUS", "the row is left as the human set it"


async def _logged_info(logs: list[dict[str, Any]], event: str) -> bool:
    return any(line["event"] == event for line in logs)


async def test_a_bad_row_does_not_stop_the_others(sim, harness_factory, database_url):
    harness = await harness_factory(database_url)
    bad, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=4, symbol="ETH/USDT:USDT")
    good, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=4)
    await sql(database_url, "UPDATE subscriptions SET leverage = 'abc' WHERE id = :id", id=bad)
    await harness.start()
    assert await harness.wait_until_finished([good]) == {good: Status.COMPLETED}
    events = await sql(database_url, "SELECT event, message FROM subscription_events WHERE subscription_id = :id "
                       "ORDER BY id", id=bad)
    assert events[-1][0] == "row_invalid" and "leverage='abc'" in events[-1][1]
    assert (await raw_row(database_url, bad))["status"] == "SCHEDULED"


async def test_an_unknown_status_found_at_start_with_open_legs_needs_attention_and_nothing_is_sent(
    sim, harness_factory, database_url
):
    from test_crash_recovery import crash

    subscription_id, harness = await open_subscription(sim, harness_factory, database_url)
    await crash(harness)
    await sql(database_url, "UPDATE subscriptions SET status = 'BOGUS' WHERE id = :id", id=subscription_id)
    sent = len(sim.requests.query(method="POST", path="*order*"))
    restarted = await harness_factory(database_url)
    with structlog.testing.capture_logs() as logs:
        await restarted.start()
        await wait_for(lambda: _status_is(database_url, subscription_id, "NEEDS_ATTENTION"))
    message = (await raw_row(database_url, subscription_id))["error_message"]
    assert "status 'BOGUS' is not one the daemon knows" in message
    assert "its orders show open positions (primary 0.01, hedge 0.01)" in message
    assert any(line["event"] == "subscription_needs_attention" and line["log_level"] == "error" for line in logs)
    assert len(sim.requests.query(method="POST", path="*order*")) == sent, "nothing is closed blindly"
    assert not flat(sim, PRIMARY) and not flat(sim, HEDGE), "left for a human, who was told"


async def test_database_connections_dropped_at_close_time_are_retried(sim, harness_factory, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite waits out a lock (busy timeout) instead of failing; dropped connections are a server's")
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = url.database
    subscription_id, harness = await open_subscription(sim, harness_factory, database_url)
    funding = (await harness.story(subscription_id)).subscription.funding_time
    admin = await asyncpg.connect(url.set(drivername="postgresql", database="postgres")
                                  .render_as_string(hide_password=False))
    with structlog.testing.capture_logs() as logs:
        try:
            while funding.timestamp() - sim.engine.now() / 1000 > 0.3:  # just before the close
                await asyncio.sleep(0.05)
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            # every connection of the daemon but the one holding its lock (losing that would end the daemon)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid NOT IN "
                "(SELECT pid FROM pg_locks WHERE locktype = 'advisory')", name)
            await asyncio.sleep(1.5)
        finally:
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            await admin.close()
        await wait_for(lambda: _status_is(database_url, subscription_id, "COMPLETED"))
    assert any(line["event"] == "database_unavailable_retrying" for line in logs)
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)


async def test_positions_no_subscription_explains_are_reported_at_start_and_never_closed(
    sim, harness_factory, database_url
):
    """A position left by a deleted row (or opened by hand) is reported: log only when no subscription trades
    that symbol, and an event on the subscriptions that do when it is larger than what they explain."""
    harness = await harness_factory(database_url)
    explained, _ = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=600)
    venue = sim.engine.venue(HEDGE)
    connectors = build_connectors(harness.settings)  # a human trading by hand on the same account
    try:
        for symbol in ("ETH/USDT:USDT", BTC):
            await connectors.get(HEDGE).load_markets()
            await connectors.get(HEDGE).create_market_order(symbol, OrderSide.BUY, Decimal("0.01"),
                                                             f"byhand-{symbol[:3]}")
    finally:
        await connectors.close()
    sent = len(sim.requests.query(method="POST", path="*order*"))
    with structlog.testing.capture_logs() as logs:
        await harness.start()
        await wait_for(lambda: _logged_info(logs, "positions_audited"))
    reports = {line["symbol"]: line for line in logs if line["event"] == "position_unexplained"}
    assert set(reports) == {"ETH/USDT:USDT", BTC}
    assert reports["ETH/USDT:USDT"]["recorded_on"].startswith("log only")
    assert reports[BTC]["subscriptions"] == [explained] and reports[BTC]["log_level"] == "error"
    events = await sql(database_url, "SELECT event, message FROM subscription_events WHERE subscription_id = :id "
                       "ORDER BY id", id=explained)
    assert events[-1][0] == "position_unexplained" and "it is not closed by the daemon" in events[-1][1]
    assert len(sim.requests.query(method="POST", path="*order*")) == sent, "nothing was closed"
    assert venue.position_views(venue.default_account(), BTC) != []


async def test_an_amount_edited_while_open_closes_exactly_what_was_opened(sim, harness_factory, database_url):
    subscription_id, harness = await open_subscription(sim, harness_factory, database_url)
    await sql(database_url, "UPDATE subscriptions SET amount = 5 WHERE id = :id", id=subscription_id)
    await wait_for(lambda: _status_is(database_url, subscription_id, "COMPLETED"))
    closes = await sql(database_url, "SELECT amount, filled FROM orders WHERE subscription_id = :id AND "
                       "purpose = 'CLOSE'", id=subscription_id)
    assert [(Decimal(str(a)), Decimal(str(f))) for a, f in closes] == [(Decimal("0.01"), Decimal("0.01"))] * 2
    assert flat(sim, PRIMARY) and flat(sim, HEDGE)


async def test_an_opening_row_set_to_garbage_before_the_trigger_sends_nothing(sim, harness_factory, database_url):
    harness = await harness_factory(database_url, leverage_sync_ahead_seconds=3)
    subscription_id, funding_time = await harness.subscribe(PRIMARY, HEDGE, Side.SHORT, funding_in=6)
    await harness.start()
    await wait_for(lambda: _status_is(database_url, subscription_id, "OPENING"))
    with structlog.testing.capture_logs() as logs:
        await sql(database_url, "UPDATE subscriptions SET status = 'BOGUS' WHERE id = :id", id=subscription_id)
        await wait_for(lambda: _logged(logs, "subscription_changed_before_trigger"))
    await asyncio.sleep(max(0.0, funding_time.timestamp() - sim.engine.now() / 1000))  # past the trigger
    orders = await sql(database_url, "SELECT status, error_message FROM orders WHERE subscription_id = :id",
                       id=subscription_id)
    assert {row[0] for row in orders} == {"FAILED"}
    assert all("its status was set outside the daemon to 'BOGUS'" in row[1] for row in orders)
    assert harness.requests(PRIMARY, ORDER_PATHS[PRIMARY]) == [] == harness.requests(HEDGE, ORDER_PATHS[HEDGE])
