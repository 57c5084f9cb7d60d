"""Alembic, driven from code: the CLI brings any database (even a new, empty one) to the current schema.

The scripts live in the top-level `migrations/` directory of the source tree (found relative to this package,
which is how an editable install, `make`'s way, runs). `alembic upgrade head` in the repository root uses the
same env.py and reads the URL from the settings.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from arbitrage.db.session import create_engine

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class MigrationsNotFound(RuntimeError):
    pass


def alembic_config(url: str | None = None) -> Config:
    """A Config pointing at `migrations/`; the URL travels in `attributes` (never through ini interpolation,
    where a `%` in a password would break)."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise MigrationsNotFound(
            f"migration scripts not found in {MIGRATIONS_DIR}; install the project from its source tree "
            "(pip install -e .)"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes["database_url"] = url
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_to_head(url: str) -> None:
    """Create or upgrade the schema at `url` to the newest revision (a no-op when already there)."""
    await _run(url, lambda config: command.upgrade(config, "head"))


async def downgrade_to(url: str, revision: str = "base") -> None:
    await _run(url, lambda config: command.downgrade(config, revision))


async def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_revision)
    finally:
        await engine.dispose()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _run(url: str, action: object) -> None:
    engine = create_engine(url)
    try:
        await run_on_engine(engine, action)
    finally:
        await engine.dispose()


async def run_on_engine(engine: AsyncEngine, action: object) -> None:
    """Run an alembic command on a connection of `engine`, inside one transaction. env.py sees the
    connection in `config.attributes` and uses it instead of opening its own (and its own event loop)."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)  # type: ignore[operator]

    async with engine.begin() as connection:
        await connection.run_sync(run)
