from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from arbitrage.db.migrate import (
    current_revision,
    downgrade_to,
    head_revision,
    run_on_engine,
    upgrade_to_head,
)
from arbitrage.db.models import Base
from arbitrage.db.session import create_engine

TABLES = {"subscriptions", "orders", "subscription_events", "symbol_filters", "funding_payments", "auto_decisions"}


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_migrations_match_models(database_url: str) -> None:
    await upgrade_to_head(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    assert await current_revision(database_url) is None

    await upgrade_to_head(database_url)
    assert await current_revision(database_url) == head_revision()
    await upgrade_to_head(database_url)  # already at head: a no-op, not an error

    await downgrade_to(database_url, "base")
    assert await current_revision(database_url) is None
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
    finally:
        await engine.dispose()

    await upgrade_to_head(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
    finally:
        await engine.dispose()


async def test_0003_keeps_existing_rows_as_cli_created_and_downgrades_in_place(database_url: str) -> None:
    """A row stored before auto-subscribe existed reads back as created by the CLI, with no estimate; going back to
    0002 keeps it (SQLite drops the columns in place, without copying the table its orders reference)."""
    engine = create_engine(database_url)
    try:
        await run_on_engine(engine, lambda config: command.upgrade(config, "0002"))
        async with engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO subscriptions (primary_exchange, primary_symbol, hedge_exchange, hedge_symbol, side, "
                "amount, leverage, funding_time, lead_seconds, status, created_at, updated_at, status_changed_at) "
                "VALUES ('bybit', 'BTC/USDT:USDT', 'mexc', 'BTC/USDT:USDT', 'SHORT', '0.01', '3', "
                "'2026-12-02 08:00:00', 5, 'COMPLETED', '2026-12-01 08:00:00', '2026-12-01 08:00:00', "
                "'2026-12-01 08:00:00')"
            ))
            await connection.execute(text(
                "INSERT INTO subscription_events (subscription_id, at, event) VALUES (1, '2026-12-01 08:00:00', 'x')"
            ))
        await upgrade_to_head(database_url)
        async with engine.connect() as connection:
            row = (await connection.execute(text(
                "SELECT created_by, estimate_net, price_pnl FROM subscriptions WHERE id = 1"))).one()
        assert tuple(row) == ("cli", None, None)
        await downgrade_to(database_url, "0002")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("subscriptions")})
            count = (await connection.execute(text("SELECT count(*) FROM subscription_events"))).scalar_one()
        assert "created_by" not in columns and "estimate_net" not in columns and count == 1
    finally:
        await engine.dispose()
