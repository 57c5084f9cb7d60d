"""Shared database fixtures, parametrised over SQLite and PostgreSQL.

PostgreSQL comes from ARBITRAGE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). Every test
gets its own database, created for it and dropped after it (never touching other data on that server). If the
server is not reachable the PostgreSQL variants are skipped with the reason, except with CI=true, where they fail.

- `database_url`: an empty database (SQLite file or PostgreSQL database) for this test.
- `migrated_database_url`: a database already at the current schema (copied from a template migrated once).
- `engine` / `sessions` / `session`: async SQLAlchemy objects on `migrated_database_url`.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import create_engine, create_session_factory

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("ARBITRAGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
_RUN_ID = f"arbitrage_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
_counter = itertools.count(1)
_server_status: dict[str, str | None] = {}


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _url_for_database(url: str, database: str) -> str:
    return make_url(url).set(drivername="postgresql", database=database).render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _postgres_unreachable_reason() -> str | None:
    if "reason" not in _server_status:
        try:
            asyncio.run(_admin(POSTGRES_URL, "SELECT 1"))
            _server_status["reason"] = None
        except Exception as error:  # any failure means: no usable server
            shown = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            _server_status["reason"] = f"PostgreSQL not reachable at {shown} ({type(error).__name__}: {error})"
    return _server_status["reason"]


def require_postgres() -> None:
    """Skip (or, with CI=true, fail) the calling test when the PostgreSQL server is not reachable."""
    reason = _postgres_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it (set ARBITRAGE_TEST_POSTGRES_URL)", pytrace=False)
    pytest.skip(f"{reason}; set ARBITRAGE_TEST_POSTGRES_URL to run these tests")


def _create_postgres_database(template: str | None = None) -> tuple[str, str]:
    name = f"{_RUN_ID}_{next(_counter)}"
    suffix = f" TEMPLATE {template}" if template else ""
    asyncio.run(_admin(POSTGRES_URL, f"CREATE DATABASE {name}{suffix}"))
    return name, _url_for_database(POSTGRES_URL, name)


def _drop_postgres_database(name: str) -> None:
    asyncio.run(_admin(POSTGRES_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(upgrade_to_head(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    require_postgres()
    name, url = _create_postgres_database()
    try:
        asyncio.run(upgrade_to_head(url))
        yield name
    finally:
        _drop_postgres_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own for this test."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name, url = _create_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def migrated_database_url(db_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own for this test, at the current schema."""
    if db_backend == "sqlite":
        path = tmp_path / "migrated.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("_postgres_template")
    name, url = _create_postgres_database(template=template)
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
