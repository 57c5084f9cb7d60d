"""One daemon per database: an exclusive lock held for the daemon's whole life.

Two daemons on one database would both resume the same subscriptions and trade them twice. The lock is one the
operating system or the database server drops when its holder dies, so a crash never leaves it behind:

- PostgreSQL: a session-level advisory lock on a connection of its own, kept open while the daemon runs.
  Advisory locks are scoped to one database, which is exactly the scope wanted.
- SQLite: `flock` on a sidecar file `<database path>.lock`, kept open while the daemon runs.
  An in-memory database is private to its process and needs no lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from arbitrage.db.session import create_engine
from arbitrage.logging import get_logger
from arbitrage.db.urls import database_backend

log = get_logger(__name__)

LOCK_NAME = "arbitrage-daemon"
# pg advisory locks take a bigint: the first 8 bytes of a hash of a fixed name, stable across versions and hosts.
ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(LOCK_NAME.encode()).digest()[:8], "big", signed=True)
SQLITE_LOCK_SUFFIX = ".lock"


class DaemonAlreadyRunning(RuntimeError):
    """Another process holds the daemon lock of this database."""

    def __init__(self, database_url: str) -> None:
        self.database = shown_database(database_url)
        super().__init__(
            f"another `arbitrage run` is using {self.database}; stop it first, "
            "or point this one at another ARBITRAGE_DATABASE_URL"
        )


def shown_database(database_url: str) -> str:
    """The URL as it may be printed: the password masked."""
    return make_url(database_url).render_as_string(hide_password=True)


def sqlite_lock_path(database_url: str) -> Path | None:
    """`<database path>.lock`, or None for an in-memory database."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    return Path(database + SQLITE_LOCK_SUFFIX)


@asynccontextmanager
async def daemon_lock(database_url: str) -> AsyncIterator[None]:
    """Hold the database's daemon lock for the block; DaemonAlreadyRunning if another process holds it."""
    if database_backend(database_url) == "postgresql":
        async with _postgres_advisory_lock(database_url):
            yield
    else:
        with _sqlite_file_lock(database_url):
            yield


@asynccontextmanager
async def _postgres_advisory_lock(database_url: str) -> AsyncIterator[None]:
    # NullPool: closing the connection really ends the session (and with it the lock), never parks it in a pool.
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            if not await _try_advisory_lock(connection):
                raise DaemonAlreadyRunning(database_url)
            log.info("daemon_lock_acquired", database=shown_database(database_url), key=ADVISORY_LOCK_KEY)
            try:
                yield
            finally:
                await _advisory_unlock(connection)
    finally:
        await engine.dispose()


async def _try_advisory_lock(connection: AsyncConnection) -> bool:
    acquired = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    # A session-level lock outlives the transaction; committing keeps the connection from idling inside one.
    await connection.commit()
    return bool(acquired)


async def _advisory_unlock(connection: AsyncConnection) -> None:
    try:
        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        await connection.commit()
    except Exception as error:  # the connection may be gone already; closing it releases the lock anyway
        log.warning("daemon_lock_unlock_failed", error=str(error))


@contextmanager
def _sqlite_file_lock(database_url: str) -> Iterator[None]:
    path = sqlite_lock_path(database_url)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DaemonAlreadyRunning(database_url) from None
        log.info("daemon_lock_acquired", database=shown_database(database_url), lock_file=str(path))
        try:
            yield
        finally:
            # The file stays: deleting it would let a third process lock a new inode while another waits on this one.
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
