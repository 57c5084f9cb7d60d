"""Alembic environment (async). The URL comes from, in order: a connection handed in by
`arbitrage.db.migrate`, `config.attributes["database_url"]`, `alembic -x url=...`, the application settings."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from arbitrage.db.models import Base
from arbitrage.db.session import create_engine
from arbitrage.db.types import EnumText, ExactDecimal, UTCDateTime
from arbitrage.settings import load_settings

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or context.get_x_argument(as_dictionary=True).get("url")
    return url or load_settings().database_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Autogenerate writes our column types as plain SQLAlchemy types: a migration must not change when
    application code does."""
    if type_ != "type":
        return False
    if isinstance(obj, ExactDecimal):
        return 'sa.Numeric(precision=36, scale=18).with_variant(sa.String(length=40), "sqlite")'
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, EnumText):
        return f"sa.String(length={obj.impl.length})"  # type: ignore[attr-defined]
    return False


def _configure(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode recreates the table
        render_item=_render_item,
        **options,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_database_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    from arbitrage.db.urls import async_database_url

    _configure(url=async_database_url(_database_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    if config.config_file_name is not None:  # the `alembic` command line: use alembic.ini's logging
        fileConfig(config.config_file_name)
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
