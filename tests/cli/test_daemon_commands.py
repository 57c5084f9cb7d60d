"""`arbitrage run` and `arbitrage demo` as users start them: real processes, real simulator, real database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.db.models import SubscriptionEvent
from arbitrage.cli.demo import DemoPlan, format_event, run_demo
from arbitrage.domain.status import Status
from arbitrage.simulator.server import SimulatorServer

BTC = "BTC/USDT:USDT"


def test_run_without_any_exchange_is_one_clear_line(run):
    result = run("run")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no exchange is configured")


async def test_run_trades_a_subscription_and_stops_cleanly_on_sigterm(workdir: Path):
    """The daemon starts first (start-up time is not in the trade's budget), then a subscription is added through
    the CLI while it runs; it trades it, logs every line about it with its id, and exits 0 on SIGTERM."""
    database_url = f"sqlite:///{workdir / 'a.db'}"
    async with SimulatorServer() as sim:
        env_file = sim.write_env_file(workdir / "sim.env")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ARBITRAGE_")},
            "ARBITRAGE_DATABASE_URL": database_url,
            "ARBITRAGE_LOG_FORMAT": "json",
            "ARBITRAGE_LEAD_SECONDS": "2",
            "ARBITRAGE_LEVERAGE_SYNC_AHEAD_SECONDS": "1",
            "ARBITRAGE_POLL_INTERVAL_SECONDS": "0.2",
        }
        command = [sys.executable, "-m", "arbitrage", "--env-file", str(env_file)]
        log_path = workdir / "daemon.log"
        with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the daemon's logging
            daemon = await asyncio.create_subprocess_exec(*command, "run", env=env, cwd=workdir, stderr=log)
            try:
                await _wait_for_log(log_path, "daemon_started", timeout=60)
                # the subscribe process validates against the exchanges (ccxt import, markets): leave it room
                funding_ms = (sim.engine.now() + 20_000) // 1000 * 1000
                sim.engine.set_funding("bybit", BTC, rate="0.0004", next_funding_time=funding_ms)
                sim.engine.set_funding("binanceusdm", BTC, next_funding_time=funding_ms)
                funding = datetime.fromtimestamp(funding_ms / 1000, UTC).isoformat()
                subscribe = await asyncio.create_subprocess_exec(
                    *command, "subscribe", "--symbol", BTC, "--primary", "bybit", "--hedge", "binanceusdm",
                    "--side", "short", "--amount", "0.01", "--funding-time", funding, "--lead-seconds", "2",
                    env=env, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )
                out, err = await subscribe.communicate()
                assert subscribe.returncode == 0, err.decode()
                subscription_id = int(out.decode().strip())
                status = await _wait_for_terminal(database_url, subscription_id, timeout=50)
                daemon.send_signal(signal.SIGTERM)
                await asyncio.wait_for(daemon.wait(), timeout=30)
            finally:
                if daemon.returncode is None:
                    daemon.kill()
                    await daemon.wait()
        err = log_path.read_bytes()

    assert status is Status.COMPLETED, await _error_message(database_url, subscription_id)
    assert daemon.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    about_it = [line for line in lines if line.get("subscription_id") == subscription_id]
    assert {"subscription_status_changed", "leverage_synced", "funding_confirmed"} <= {l["event"] for l in about_it}
    assert lines[-1]["event"] == "daemon_stopped"
    _, secret = sim.credentials("bybit")
    assert secret not in err.decode()


async def _error_message(url: str, subscription_id: int) -> str | None:
    async with Database(url) as db, db.unit_of_work() as session:
        return (await repo.require_subscription(session, subscription_id)).error_message


async def _wait_for_log(path: Path, event: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while f'"event": "{event}"' not in path.read_text():
        assert loop.time() < deadline, f"no {event} line after {timeout} s: {path.read_text()[-2000:]}"
        await asyncio.sleep(0.1)


async def _wait_for_terminal(url: str, subscription_id: int, timeout: float) -> Status:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with Database(url) as db:
        while True:
            async with db.unit_of_work() as session:
                status = (await repo.require_subscription(session, subscription_id)).status
            if status in (Status.COMPLETED, Status.ERROR, Status.SKIPPED, Status.NEEDS_ATTENTION):
                return status
            assert loop.time() < deadline, f"still {status} after {timeout} s"
            await asyncio.sleep(0.2)


async def test_demo_shows_a_completed_cycle(workdir: Path):
    console = Console(record=True, width=160)
    plan = DemoPlan(funding_in_seconds=8, lead_seconds=2, leverage_sync_ahead_seconds=1)
    assert await run_demo(console, plan) == 0
    text = console.export_text()
    for event in ("created", "leverage_synced", "opened", "funding_confirmed", "completed"):
        assert event in text
    assert "COMPLETED: funding" in text and "realized PnL" in text
    assert "None" not in text
    iso_utc = re.compile(r"  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 ")
    timeline = [line for line in text.splitlines() if line.startswith("  20")]
    assert len(timeline) >= 5 and all(iso_utc.match(line) for line in timeline), timeline
    assert list(workdir.iterdir()) == [], "the demo leaves nothing behind in the working directory"


def test_demo_timeline_line_is_iso_utc_and_names_no_missing_status():
    at = datetime(2026, 11, 22, 7, 59, 29, 123456, tzinfo=UTC)
    created = SubscriptionEvent(at=at, event="created", from_status=None, to_status="SCHEDULED", message=None)
    opened = SubscriptionEvent(at=at, event="opened", from_status="OPENING", to_status="OPEN", message="both legs filled")
    step = SubscriptionEvent(at=at, event="leverage_synced", from_status=None, to_status=None, message="leverage 3 set")
    assert format_event(created) == "  2026-11-22T07:59:29.123+00:00 created              → SCHEDULED"
    assert format_event(opened).split() == ["2026-11-22T07:59:29.123+00:00", "opened", "OPENING", "→", "OPEN",
                                            "both", "legs", "filled"]
    assert format_event(step).split()[1:3] == ["leverage_synced", "leverage"]
