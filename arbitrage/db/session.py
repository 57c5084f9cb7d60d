"""Engine factory and the unit of work: one transaction per job, committed once at its boundary."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from arbitrage.db.urls import async_database_url, database_backend

# A second writer (the CLI while the daemon runs) waits this long for SQLite's lock instead of failing at once.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def json_default(value: Any) -> Any:
    """Decimals as strings (exact), datetimes as ISO-8601 with offset, enums as their value."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=json_default)


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for a plain `sqlite:///` or `postgresql://` URL (the async driver is chosen here)."""
    backend = database_backend(url)
    if backend == "sqlite":
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_SECONDS)
    engine = create_async_engine(async_database_url(url), json_serializer=_json_dumps, **options)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: the CLI and services use them after the unit of work ends.
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Yield a session; commit once when the block ends normally, roll back if it raises (or is cancelled)."""
    async with sessions() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


class Database:
    """The engine and its session factory, built from a URL; dispose() on shutdown."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_options)
        self.sessions = create_session_factory(self.engine)

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]:
        return unit_of_work(self.sessions)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.dispose()
