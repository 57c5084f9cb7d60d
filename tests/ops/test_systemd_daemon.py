"""`arbitrage run` under a stand-in for systemd: a real process, the simulator, NOTIFY_SOCKET and WATCHDOG_USEC."""

from __future__ import annotations

import asyncio
import signal
import statistics
from pathlib import Path

import pytest
from daemon_process import ARBITRAGE, LogFile, add_far_subscription, daemon_env, start, stop
from notify_socket import notify_socket

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.simulator.server import SimulatorServer


async def test_daemon_notifies_ready_after_markets_status_watchdog_and_stopping(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'a.db'}"
    await upgrade_to_head(database_url)
    funding_time = await add_far_subscription(database_url)
    log = LogFile(tmp_path / "daemon.log")
    async with SimulatorServer() as sim:
        with notify_socket() as sock:
            env = daemon_env(sim, database_url, NOTIFY_SOCKET=sock.env_value, WATCHDOG_USEC="200000")
            daemon = await start([*ARBITRAGE, "run"], env, tmp_path, log.path)
            try:
                ready = await asyncio.to_thread(sock.wait_for, "READY", 60)
                events_at_ready = log.events()
                await asyncio.sleep(1.0)  # watchdog pings keep coming while it runs
                daemon.send_signal(signal.SIGTERM)
                await asyncio.wait_for(daemon.wait(), timeout=30)
            finally:
                await stop(daemon)
            stopping = sock.wait_for("STOPPING", 1)
            received = sock.received

    assert daemon.returncode == 0, log.path.read_text()[-2000:]
    # READY=1 only once every exchange's markets are loaded and the scheduler runs
    assert events_at_ready.count("markets_loaded") == len(sim.exchange_ids)
    assert "daemon_started" in events_at_ready and "subscription_scheduled" in events_at_ready
    assert ready.fields["STATUS"] == f"1 scheduled, next funding {funding_time:%Y-%m-%d %H:%M:%S} UTC"
    pings = [d.at for d in received if "WATCHDOG" in d.fields]
    after_ready = [at for at in pings if ready.at <= at <= stopping.at]
    gaps = [b - a for a, b in zip(after_ready, after_ready[1:])]
    assert len(after_ready) >= 6, pings
    assert statistics.median(gaps) == pytest.approx(0.1, abs=0.03)  # half of WATCHDOG_USEC
    assert stopping.fields["STOPPING"] == "1" and stopping.fields["STATUS"].startswith("stopping")
    assert log.events()[-1] == "daemon_stopped"
