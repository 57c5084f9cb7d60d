"""What every CLI command shares: global options, settings + logging set-up, output helpers, the database."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from sqlalchemy.exc import DBAPIError

from arbitrage.db.startup import database_unreachable
from arbitrage.db.migrate import current_revision, upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.logging import configure_logging, register_secrets
from arbitrage.cli.presenters import to_json
from arbitrage.db.urls import database_backend
from arbitrage.settings import Settings, SettingsError, load_settings

T = TypeVar("T")

USAGE_ERROR = 2
RUNTIME_ERROR = 1


class CliError(Exception):
    """A failure with a message for the user (one line each) and an exit code: 2 for bad input or settings."""

    def __init__(self, *lines: str, exit_code: int = USAGE_ERROR) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)
        self.exit_code = exit_code


@dataclass
class GlobalOptions:
    env_file: Path | None = None
    verbose: bool = False
    debug: bool = False


options = GlobalOptions()


def load_cli_settings(*, daemon: bool = False) -> Settings:
    """Settings for this command, with logging configured and the credentials registered for redaction.

    The daemon logs at ARBITRAGE_LOG_LEVEL. Other commands print their result, so their log lines are warnings
    and worse (or quieter, if the setting says so) unless --verbose (INFO) or --debug."""
    try:
        settings = load_settings(options.env_file)
    except SettingsError as error:
        raise CliError(*error.lines) from None
    register_secrets(settings.secret_values())
    configure_logging(settings.resolved_log_format(sys.stderr), cli_log_level(settings.log_level, daemon=daemon))
    return settings


def cli_log_level(configured: str, *, daemon: bool) -> str:
    if options.debug:
        return "DEBUG"
    if daemon:
        return configured
    if options.verbose:
        return "INFO"
    quieter = logging.getLevelName(configured) > logging.WARNING
    return configured if quieter else "WARNING"


def debug_enabled() -> bool:
    if options.debug:
        return True
    try:
        return load_settings(options.env_file).log_level == "DEBUG"
    except Exception:
        return False


def stdout_console() -> Console:
    # Piped output keeps long rows on one line instead of wrapping at 80 columns.
    return Console(width=None if sys.stdout.isatty() else 200, soft_wrap=False)


def print_json(value: Any) -> None:
    sys.stdout.write(to_json(value) + "\n")


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///` URL (None for PostgreSQL and in-memory SQLite)."""
    if database_backend(url) != "sqlite":
        return None
    path = url.split("://", 1)[1].removeprefix("/").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def check_database_location(settings: Settings, *, create: bool) -> bool:
    """Whether the SQLite file exists (always True for PostgreSQL); one clear line for a path that cannot work."""
    path = sqlite_path(settings.database_url)
    if path is None:
        return True
    if path.is_dir():
        raise CliError(f"invalid setting ARBITRAGE_DATABASE_URL: {path} is a directory, not a SQLite database file")
    if path.exists():
        return True
    if create and not path.parent.is_dir():
        raise CliError(
            f"invalid setting ARBITRAGE_DATABASE_URL: cannot create {path}: directory {path.parent} does not exist"
        )
    return False


async def _schema_exists(settings: Settings) -> bool:
    if not check_database_location(settings, create=False):
        return False
    if sqlite_path(settings.database_url) is None:
        return await opening_database(settings, current_revision(settings.database_url)) is not None
    return True  # an existing SQLite file: upgrading it to the current schema is what every command does


async def opening_database(settings: Settings, step: Awaitable[T]) -> T:
    """Run a first database step; an unopenable SQLite file is one line naming it."""
    try:
        return await step
    except (DBAPIError, OSError) as error:
        path = sqlite_path(settings.database_url)
        if path is None:
            raise CliError(database_unreachable(settings.database_url, error), exit_code=RUNTIME_ERROR) from error
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise CliError(f"cannot open the SQLite database {path}: {reason}", exit_code=RUNTIME_ERROR) from None


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The database at the current schema (a new one is created and migrated on first use)."""
    check_database_location(settings, create=True)
    await opening_database(settings, upgrade_to_head(settings.database_url))
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def open_existing_database(settings: Settings) -> AsyncIterator[Database | None]:
    """For commands that only read: the database at the current schema, or None where there is none yet (no
    SQLite file, or a PostgreSQL database without our tables). Nothing is created."""
    if not await _schema_exists(settings):
        yield None
        return
    async with open_database(settings) as database:
        yield database
