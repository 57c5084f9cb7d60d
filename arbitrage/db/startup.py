"""The daemon's first database steps (its lock, then the schema), and the one line a user sees when the database
cannot be reached: which database (backend, host, port, name, user; never the password) and what to check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from arbitrage.db.daemon_lock import LockWait, LockWatch, daemon_lock
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.urls import database_backend


class DatabaseUnreachable(RuntimeError):
    def __init__(self, database_url: str, error: BaseException) -> None:
        super().__init__(database_unreachable(database_url, error))


def describe_database(database_url: str) -> str:
    """`the PostgreSQL database arb on db.example:5432 (user trader)` / `the SQLite database file /var/a.db`."""
    url = make_url(database_url)
    if database_backend(database_url) == "sqlite":
        return f"the SQLite database file {url.database or ':memory:'}"
    user = f" (user {url.username})" if url.username else ""
    return f"the PostgreSQL database {url.database or '(default)'} on {url.host or 'localhost'}:{url.port or 5432}{user}"


def database_unreachable(database_url: str, error: BaseException) -> str:
    """One line: which database, what failed, what to check. The password never appears."""
    cause = getattr(error, "orig", None) or error
    cause = cause.__cause__ or cause  # the driver's own exception under SQLAlchemy's adapter
    reason = (str(cause).strip().splitlines() or [""])[0][:200] or type(cause).__name__
    password = make_url(database_url).password
    if password:
        reason = reason.replace(str(password), "***")
    if database_backend(database_url) == "sqlite":
        check = "check that the path exists and is writable (ARBITRAGE_DATABASE_URL)"
        return f"cannot open {describe_database(database_url)}: {reason} ({type(cause).__name__}); {check}"
    check = ("check that PostgreSQL is running there and accepts connections, and the host, port, database name "
             "and credentials in ARBITRAGE_DATABASE_URL")
    return f"cannot reach {describe_database(database_url)}: {reason} ({type(cause).__name__}); {check}"


@asynccontextmanager
async def ready_database(
    database_url: str, wait: LockWait | None = None, watch: LockWatch | None = None
) -> AsyncIterator[None]:
    """The daemon lock held for the block (`wait`, `watch`: see `daemon_lock`), the schema at head;
    `DatabaseUnreachable` if either cannot be had."""
    async with AsyncExitStack() as stack:
        try:
            # first: a second daemon stops (or a standby waits) here
            await stack.enter_async_context(daemon_lock(database_url, wait, watch))
            await upgrade_to_head(database_url)
        except (DBAPIError, OSError) as error:
            raise DatabaseUnreachable(database_url, error) from error
        yield
