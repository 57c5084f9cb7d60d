from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from arbitrage.db.migrate import (
    current_revision,
    downgrade_to,
    head_revision,
    upgrade_to_head,
)
from arbitrage.db.models import Base
from arbitrage.db.session import create_engine

TABLES = {"subscriptions", "orders", "subscription_events", "symbol_filters", "funding_payments"}


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
