"""What every CLI command shares: global options, settings + logging set-up, output helpers, the database."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.logging import configure_logging, register_secrets
from arbitrage.presenters import to_json
from arbitrage.settings import Settings, SettingsError, load_settings

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
    debug: bool = False


options = GlobalOptions()


def load_cli_settings() -> Settings:
    """Settings for this command, with logging configured and the credentials registered for redaction."""
    try:
        settings = load_settings(options.env_file)
    except SettingsError as error:
        raise CliError(*error.lines) from None
    register_secrets(settings.secret_values())
    level = "DEBUG" if options.debug else settings.log_level
    configure_logging(settings.resolved_log_format(sys.stderr), level)
    return settings


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


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The database at the current schema (a new one is created and migrated on first use)."""
    await upgrade_to_head(settings.database_url)
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        await database.dispose()
