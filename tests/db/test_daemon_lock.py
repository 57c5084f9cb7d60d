"""One daemon per database: the lock blocks a second holder (in this process, in another one, and a second
`arbitrage run`), is released on exit, and dies with a killed holder."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from arbitrage.db.daemon_lock import (
    DaemonAlreadyRunning,
    LockWait,
    LockWaitCancelled,
    LockWatch,
    daemon_lock,
    sqlite_lock_path,
)

HOLDER_SCRIPT = """
import asyncio, sys
from arbitrage.db.daemon_lock import daemon_lock

async def hold() -> None:
    async with daemon_lock(sys.argv[1]):
        print("locked", flush=True)
        await asyncio.sleep(3600)

asyncio.run(hold())
"""
STARTUP_TIMEOUT_SECONDS = 30
RELEASE_TIMEOUT_SECONDS = 10


def expected_message(shown_database: str) -> str:
    return (
        f"another `arbitrage run` is using {shown_database}; stop it first, "
        "or point this one at another ARBITRAGE_DATABASE_URL"
    )


def _clean_env(**overrides: str) -> dict[str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("ARBITRAGE_")}
    return {**clean, **overrides}


async def _assert_locked(url: str) -> None:
    with pytest.raises(DaemonAlreadyRunning) as raised:
        async with daemon_lock(url):
            pytest.fail("a second holder got the lock")
    assert str(raised.value) == expected_message(url)


async def _acquire_within(url: str, timeout: float) -> None:
    """The server notices a killed client's closed socket a moment later: retry until the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with daemon_lock(url):
                return
        except DaemonAlreadyRunning:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_second_acquire_fails_while_held_and_succeeds_after_release(database_url: str) -> None:
    async with daemon_lock(database_url):
        await _assert_locked(database_url)
    async with daemon_lock(database_url):
        await _assert_locked(database_url)


async def test_released_when_the_block_raises(database_url: str) -> None:
    with pytest.raises(RuntimeError, match="daemon crashed"):
        async with daemon_lock(database_url):
            raise RuntimeError("daemon crashed")
    async with daemon_lock(database_url):
        pass


async def test_lock_is_per_database(database_url: str, migrated_database_url: str) -> None:
    async with daemon_lock(database_url), daemon_lock(migrated_database_url):
        await _assert_locked(database_url)
        await _assert_locked(migrated_database_url)


async def test_lock_held_by_another_process_blocks_until_it_is_killed(database_url: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER_SCRIPT, database_url,
        env=_clean_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert holder.stdout is not None
        async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
            while (line := await holder.stdout.readline()) and line.strip() != b"locked":
                pass
        assert line.strip() == b"locked", "the holder process exited without taking the lock"
        await _assert_locked(database_url)
    finally:
        holder.kill()  # SIGKILL: no cleanup runs, as in a crash
        await holder.wait()
    await _acquire_within(database_url, RELEASE_TIMEOUT_SECONDS)


async def test_arbitrage_run_exits_with_one_error_line_when_the_lock_is_held(
    migrated_database_url: str, tmp_path: Path
) -> None:
    env = _clean_env(
        ARBITRAGE_DATABASE_URL=migrated_database_url,
        # Never reached: the lock is checked before markets are loaded (port 9 would refuse anyway).
        ARBITRAGE_EXCHANGES__BYBIT__BASE_URL="http://127.0.0.1:9/bybit",
        ARBITRAGE_LOG_FORMAT="json",
    )
    async with daemon_lock(migrated_database_url):
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arbitrage", "run",
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_SECONDS):
                _stdout, stderr = await second.communicate()
        finally:
            if second.returncode is None:  # it did not stop: it is running as a second daemon
                second.kill()
                await second.wait()
    assert second.returncode == 1
    errors = [line for line in stderr.decode().splitlines() if not line.startswith("{")]  # JSON lines are logs
    assert errors == [f"error: {expected_message(migrated_database_url)}"]
    assert "markets_load" not in stderr.decode()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://trader:s3cret@db.example:5432/funding", "postgresql://trader:***@db.example:5432/funding"),
        ("postgresql://trader@db.example/funding", "postgresql://trader@db.example/funding"),
        ("sqlite:///var/lib/arbitrage.db", "sqlite:///var/lib/arbitrage.db"),
    ],
)
def test_message_names_the_database_without_its_password(url: str, shown: str) -> None:
    assert str(DaemonAlreadyRunning(url)) == expected_message(shown)


@pytest.mark.parametrize(
    ("url", "lock_path"),
    [
        ("sqlite:///arbitrage.db", Path("arbitrage.db.lock")),
        ("sqlite:////srv/data/arbitrage.db", Path("/srv/data/arbitrage.db.lock")),
        ("sqlite+aiosqlite:///data/a.db", Path("data/a.db.lock")),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
    ],
)
def test_sqlite_lock_file_sits_next_to_the_database(url: str, lock_path: Path | None) -> None:
    assert sqlite_lock_path(url) == lock_path


async def test_in_memory_sqlite_needs_no_lock() -> None:
    async with daemon_lock("sqlite:///:memory:"), daemon_lock("sqlite:///:memory:"):
        pass


async def test_a_waiting_standby_gets_the_lock_within_one_poll_of_its_release(database_url: str) -> None:
    """`--standby`'s wait: never while the holder has it, at once (one poll) after it lets go."""
    waiting = asyncio.Event()
    acquired_at: list[float] = []

    async def standby() -> None:
        wait = LockWait(poll_seconds=0.05, cancel=asyncio.Event(), on_waiting=waiting.set)
        async with daemon_lock(database_url, wait):
            acquired_at.append(time.monotonic())

    async with daemon_lock(database_url):
        task = asyncio.create_task(standby())
        await asyncio.wait_for(waiting.wait(), timeout=10)
        await asyncio.sleep(0.3)
        assert not acquired_at, "the standby took a lock that is held"
        released_at = time.monotonic()
    await asyncio.wait_for(task, timeout=10)
    assert 0 <= acquired_at[0] - released_at < 0.5


async def test_a_waiting_standby_stops_when_cancelled(database_url: str) -> None:
    cancel = asyncio.Event()
    async with daemon_lock(database_url):
        task = asyncio.create_task(daemon_lock(database_url, LockWait(0.05, cancel)).__aenter__())
        await asyncio.sleep(0.2)
        cancel.set()
        with pytest.raises(LockWaitCancelled):
            await asyncio.wait_for(task, timeout=5)
    async with daemon_lock(database_url):  # nothing left behind
        pass


async def _terminate_lock_session(url: str) -> None:
    """End the session holding this database's advisory lock, as a server restart or an admin would."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        terminated = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert terminated == 1
    finally:
        await connection.close()


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_a_lost_session_is_replaced_when_nobody_else_took_the_lock(database_url: str) -> None:
    lost: list[str] = []
    async with daemon_lock(database_url, watch=LockWatch(0.1, lost.append)):
        await _terminate_lock_session(database_url)
        await asyncio.sleep(0.5)
        assert lost == []
        await _assert_locked(database_url)  # held again, on a new session


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
async def test_a_lost_lock_taken_by_another_daemon_is_reported(database_url: str) -> None:
    lost: list[str] = []
    waiting, taken = asyncio.Event(), asyncio.Event()

    async def standby() -> None:  # connected and polling every 10 ms before the session ends: it wins the race
        async with daemon_lock(database_url, LockWait(0.01, asyncio.Event(), on_waiting=waiting.set)):
            taken.set()
            for _ in range(100):
                if lost:
                    return
                await asyncio.sleep(0.02)

    async with daemon_lock(database_url, watch=LockWatch(0.5, lost.append)):
        task = asyncio.create_task(standby())
        await asyncio.wait_for(waiting.wait(), timeout=10)
        await _terminate_lock_session(database_url)
        await asyncio.wait_for(task, timeout=10)
    assert taken.is_set()
    assert lost == [f"lost the daemon lock of {database_url}: another daemon holds it now"]
