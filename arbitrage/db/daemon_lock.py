"""One daemon per database: an exclusive lock held for the daemon's whole life.

Two daemons on one database would both resume the same subscriptions and trade them twice. The lock is one the
operating system or the database server drops when its holder dies, so a crash never leaves it behind:

- PostgreSQL: a session-level advisory lock on a connection of its own, kept open while the daemon runs.
  Advisory locks are scoped to one database, which is exactly the scope wanted.
- SQLite: `flock` on a sidecar file `<database path>.lock`, kept open while the daemon runs.
  An in-memory database is private to its process and needs no lock.

A hot standby (`arbitrage run --standby`) waits for the lock instead of failing: it tries again every
`LockWait.poll_seconds` on the same connection (or file), so it takes over within that time of the holder's
death, and never while the holder lives.

A PostgreSQL lock lives as long as its session, which the daemon does not control alone: a server restart,
`pg_terminate_backend` or an `idle_session_timeout` ends it while the daemon runs on. With `LockWatch` the
session is checked every `check_seconds`; a lost one is replaced by taking the lock again at once, and if someone
else has it by then (a standby took over) `on_lost` is called: the daemon must stop.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
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


class DaemonLockLost(RuntimeError):
    """The daemon lost its lock while running (another daemon may be trading now) and stopped."""


class LockWaitCancelled(RuntimeError):
    """A standby was told to stop before the lock became free."""


@dataclass(frozen=True)
class LockWait:
    """Wait for a held lock instead of raising DaemonAlreadyRunning: try again every `poll_seconds` until it is ours
    or `cancel` is set (then LockWaitCancelled). `on_waiting` runs once, when the first try finds it held."""

    poll_seconds: float
    cancel: asyncio.Event
    on_waiting: Callable[[], None] | None = None


@dataclass(frozen=True)
class LockWatch:
    """While the PostgreSQL lock is held: check its session every `check_seconds`; `on_lost` when it ended and the
    lock could not be taken again (another process has it, or the server cannot be reached)."""

    check_seconds: float
    on_lost: Callable[[str], None]  # gets the reason, ready to print


# A lock session that does not answer a `SELECT 1` within this long is taken as gone.
LOCK_CHECK_TIMEOUT_SECONDS = 10


def shown_database(database_url: str) -> str:
    """The URL as it may be printed: the password masked."""
    return make_url(database_url).render_as_string(hide_password=True)


def sqlite_lock_path(database_url: str) -> Path | None:
    """`<database path>.lock`, or None for an in-memory database. An existing database's real path is used, so
    that the same file reached through a symbolic link has the same lock."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        return None
    if os.path.exists(database):
        database = os.path.realpath(database)
    return Path(database + SQLITE_LOCK_SUFFIX)


@asynccontextmanager
async def daemon_lock(
    database_url: str, wait: LockWait | None = None, watch: LockWatch | None = None
) -> AsyncIterator[None]:
    """Hold the database's daemon lock for the block. If another process holds it: DaemonAlreadyRunning, or with
    `wait` the block starts once the holder is gone. `watch` applies to PostgreSQL (a file lock cannot be lost)."""
    if database_backend(database_url) == "postgresql":
        async with _postgres_advisory_lock(database_url, wait, watch):
            yield
    else:
        async with _sqlite_file_lock(database_url, wait):
            yield


async def _acquire(database_url: str, try_lock: Callable[[], Awaitable[bool]], wait: LockWait | None) -> bool:
    """Call `try_lock` until it succeeds; once without `wait`. True when it had to wait for a holder."""
    waiting = False
    while not await try_lock():
        if wait is None:
            raise DaemonAlreadyRunning(database_url)
        if not waiting:
            waiting = True
            log.info("daemon_lock_waiting", database=shown_database(database_url), poll_seconds=wait.poll_seconds)
            if wait.on_waiting is not None:
                wait.on_waiting()
        with suppress(TimeoutError):
            await asyncio.wait_for(wait.cancel.wait(), timeout=wait.poll_seconds)
        if wait.cancel.is_set():
            raise LockWaitCancelled(shown_database(database_url))
    return waiting


def takeover_grace_seconds(poll_seconds: float) -> float:
    """How long a PostgreSQL lock taken over from a holder is held before trading. The holder may be alive with its
    session ended (a server restart, pg_terminate_backend): it notices at its next check, every `poll_seconds` (the
    same setting on both hosts), and then sends nothing more. Until then both could trade."""
    return 2 * poll_seconds


@asynccontextmanager
async def _postgres_advisory_lock(
    database_url: str, wait: LockWait | None, watch: LockWatch | None
) -> AsyncIterator[None]:
    # NullPool: closing the connection really ends the session (and with it the lock), never parks it in a pool.
    engine = create_engine(database_url, poolclass=NullPool)
    held = _HeldSession(engine)
    try:
        connection = held.connection = await engine.connect()
        took_over = await _acquire(database_url, lambda: _try_advisory_lock(connection), wait)
        log.info("daemon_lock_acquired", database=shown_database(database_url), key=ADVISORY_LOCK_KEY)
        if took_over and wait is not None:
            grace = takeover_grace_seconds(wait.poll_seconds)
            log.info("daemon_lock_grace", seconds=grace, reason="a holder whose session ended may not know yet")
            with suppress(TimeoutError):
                await asyncio.wait_for(wait.cancel.wait(), timeout=grace)
            if wait.cancel.is_set():
                raise LockWaitCancelled(shown_database(database_url))
        watcher = asyncio.create_task(held.watch(database_url, watch), name="daemon-lock-watch") if watch else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
            if held.connection is not None:
                await _advisory_unlock(held.connection)
    finally:
        await held.close()
        await engine.dispose()


class _HeldSession:
    """The connection whose session holds the advisory lock; replaced when a lost session's lock is re-taken."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None

    async def watch(self, database_url: str, watch: LockWatch) -> None:
        while True:
            await asyncio.sleep(watch.check_seconds)
            if await self._alive(database_url):
                continue
            reason = await self._take_again()
            if reason is None:
                log.warning("daemon_lock_reacquired", database=shown_database(database_url))
                continue
            log.error("daemon_lock_lost", database=shown_database(database_url), reason=reason)
            watch.on_lost(f"lost the daemon lock of {shown_database(database_url)}: {reason}")
            return

    async def _alive(self, database_url: str) -> bool:
        if self.connection is None:
            return False
        try:
            await asyncio.wait_for(self.connection.scalar(text("SELECT 1")), LOCK_CHECK_TIMEOUT_SECONDS)
            await self.connection.commit()
            return True
        except Exception as error:  # any failure: the session, and the lock with it, may be gone
            log.error("daemon_lock_session_lost", database=shown_database(database_url), error=str(error))
            return False

    async def _take_again(self) -> str | None:
        """None when the lock is ours again on a new session; else why not."""
        await self.close()
        try:
            self.connection = await asyncio.wait_for(self.engine.connect(), LOCK_CHECK_TIMEOUT_SECONDS)
            if await asyncio.wait_for(_try_advisory_lock(self.connection), LOCK_CHECK_TIMEOUT_SECONDS):
                return None
        except Exception as error:  # cannot tell whether another daemon has it now: assume it does
            return f"the database does not answer ({type(error).__name__})"
        return "another daemon holds it now"

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with suppress(Exception):  # a dead connection may fail to close; it is discarded either way
                await asyncio.wait_for(connection.close(), LOCK_CHECK_TIMEOUT_SECONDS)


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


@asynccontextmanager
async def _sqlite_file_lock(database_url: str, wait: LockWait | None) -> AsyncIterator[None]:
    path = sqlite_lock_path(database_url)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await _acquire(database_url, lambda: _try_flock(fd), wait)  # a file lock is only lost with its process
        log.info("daemon_lock_acquired", database=shown_database(database_url), lock_file=str(path))
        try:
            yield
        finally:
            # The file stays: deleting it would let a third process lock a new inode while another waits on this one.
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


async def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
