"""`arbitrage run --standby` as real processes: on PostgreSQL the holder is killed with SIGKILL mid-trade and the
standby takes over within seconds and finishes the cycle, every order reaching the exchanges exactly once; a
daemon whose lock was taken over stops; a waiting standby is ready for systemd and stops cleanly."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from daemon_process import ARBITRAGE, LogFile, add_subscription, daemon_env, start, stop, wait_for_status
from notify_socket import notify_socket

from arbitrage.db import repository as repo
from arbitrage.db.daemon_lock import LockWait, daemon_lock
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.domain.status import Status
from arbitrage.simulator.server import SimulatorServer

TAKEOVER_SECONDS = 5  # the standby polls every 0.2 s here; PostgreSQL ends a killed client's session at once
ORDER_PATHS = ("/v5/order/create", "/fapi/v1/order")  # bybit, binanceusdm


def sent_client_order_ids(sim: SimulatorServer) -> Counter[str]:
    """Every client order id in the order requests the simulator received (ours all start `arb-`)."""
    ids: Counter[str] = Counter()
    for path in ORDER_PATHS:
        for record in sim.requests.query(path=path, method="POST"):
            ids.update(value for value in record.params.values() if str(value).startswith("arb-"))
    return ids


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
@pytest.mark.postgres
async def test_standby_takes_over_a_killed_holder_and_nothing_is_sent_twice(
    migrated_database_url: str, tmp_path: Path
):
    url = migrated_database_url
    holder_log, standby_log = LogFile(tmp_path / "holder.log"), LogFile(tmp_path / "standby.log")
    async with SimulatorServer() as sim:
        env = daemon_env(sim, url, ARBITRAGE_LOCK_POLL_SECONDS="0.2")
        holder = await start([*ARBITRAGE, "run"], env, tmp_path, holder_log.path)
        standby = None
        try:
            await holder_log.wait_for("daemon_started", timeout=60)
            standby = await start([*ARBITRAGE, "run", "--standby"], env, tmp_path, standby_log.path)
            await standby_log.wait_for("daemon_lock_waiting", timeout=60)
            assert standby_log.events().count("markets_loaded") == len(sim.exchange_ids), "warm before waiting"

            subscription_id, _ = await add_subscription(sim, url, funding_in=5)
            await wait_for_status(url, subscription_id, (Status.OPEN,), timeout=20)
            assert "daemon_started" not in standby_log.events(), "the standby ran while the holder lived"
            holder.send_signal(signal.SIGKILL)
            killed_at = asyncio.get_running_loop().time()
            await holder.wait()

            started_at = await standby_log.wait_for("daemon_started", timeout=TAKEOVER_SECONDS + 5)
            status = await wait_for_status(url, subscription_id, (Status.COMPLETED, Status.ERROR,
                                                                   Status.NEEDS_ATTENTION), timeout=30)
            standby.send_signal(signal.SIGTERM)
            await asyncio.wait_for(standby.wait(), timeout=30)
        finally:
            await stop(holder)
            if standby is not None:
                await stop(standby)
        sent = sent_client_order_ids(sim)

    assert status is Status.COMPLETED
    assert started_at - killed_at < TAKEOVER_SECONDS
    async with Database(url) as db, db.unit_of_work() as session:
        orders = await repo.orders_for(session, subscription_id)
    recorded = sorted(order.client_order_id for order in orders)
    assert len(recorded) == 4  # two opens (by the holder), two closes (by the standby)
    assert sorted(sent) == recorded and set(sent.values()) == {1}, sent
    assert standby.returncode == 0


@pytest.mark.parametrize("db_backend", ["postgres"], indirect=True)
@pytest.mark.postgres
async def test_a_daemon_whose_lock_was_taken_over_stops_with_one_error_line(migrated_database_url: str,
                                                                            tmp_path: Path):
    """Its session ended (server restart, admin) and another daemon has the lock now: it must not trade on."""
    url = migrated_database_url
    log = LogFile(tmp_path / "daemon.log")
    async with SimulatorServer() as sim:
        daemon = await start([*ARBITRAGE, "run"], daemon_env(sim, url, ARBITRAGE_LOCK_POLL_SECONDS="0.5"), tmp_path,
                             log.path)
        try:
            await log.wait_for("daemon_started", timeout=60)
            async with waiting_competitor(url):  # polls every 10 ms: it wins the race against the daemon's re-take
                await terminate_lock_session(url)
                await asyncio.wait_for(daemon.wait(), timeout=15)
        finally:
            await stop(daemon)
    assert daemon.returncode == 1
    errors = [line for line in log.path.read_text().splitlines() if not line.startswith("{")]
    assert errors == [f"error: lost the daemon lock of {url}: another daemon holds it now; stopped (another daemon "
                      "may be trading this database now)"]
    assert "daemon_lock_lost" in log.events()


@asynccontextmanager
async def waiting_competitor(url: str) -> AsyncIterator[None]:
    """Another daemon already waiting for the lock (connected, polling every 10 ms) while the block runs."""
    waiting, release = asyncio.Event(), asyncio.Event()

    async def compete() -> None:
        async with daemon_lock(url, LockWait(0.01, asyncio.Event(), on_waiting=waiting.set)):
            await release.wait()

    task = asyncio.create_task(compete())
    await asyncio.wait_for(waiting.wait(), timeout=10)
    try:
        yield
    finally:
        release.set()
        await asyncio.wait_for(task, timeout=10)


async def terminate_lock_session(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    finally:
        await connection.close()


async def test_a_waiting_standby_reports_to_systemd_and_stops_cleanly_on_sigterm(tmp_path: Path):
    """SQLite on one host: the lock is a file lock, held here by the test."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    await upgrade_to_head(url)
    log = LogFile(tmp_path / "standby.log")
    async with SimulatorServer() as sim, daemon_lock(url):
        with notify_socket() as sock:
            env = daemon_env(sim, url, NOTIFY_SOCKET=sock.env_value, ARBITRAGE_LOCK_POLL_SECONDS="0.1")
            standby = await start([*ARBITRAGE, "run", "--standby"], env, tmp_path, log.path)
            try:
                ready = await asyncio.to_thread(sock.wait_for, "READY", 60)
                await log.wait_for("daemon_lock_waiting", timeout=10)
                standby.send_signal(signal.SIGTERM)
                await asyncio.wait_for(standby.wait(), timeout=30)
            finally:
                await stop(standby)
            stopping = sock.wait_for("STOPPING", 1)
    assert ready.fields["STATUS"].startswith("standby:")
    assert standby.returncode == 0 and stopping.fields["STOPPING"] == "1"
    assert "daemon_started" not in log.events()
    assert log.events()[-2:] == ["standby_stopped", "daemon_stopped"]
