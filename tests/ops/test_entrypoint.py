"""docker/entrypoint.sh outside Docker, against SQLite: it migrates, then execs the daemon (same PID, so signals
reach it), which stops cleanly on SIGTERM; a failing migration starts no daemon."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from daemon_process import LogFile, daemon_env, start, stop

from arbitrage.db.migrate import current_revision, head_revision
from arbitrage.simulator.server import SimulatorServer

ENTRYPOINT = Path(__file__).parents[2] / "docker" / "entrypoint.sh"


def _with_venv_path(env: dict[str, str]) -> dict[str, str]:
    """`arbitrage` on PATH, as in the image."""
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}


async def test_entrypoint_migrates_then_becomes_the_daemon_which_stops_on_sigterm(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    log = LogFile(tmp_path / "daemon.log")
    async with SimulatorServer() as sim:
        env = _with_venv_path(daemon_env(sim, database_url))
        process = await start([str(ENTRYPOINT)], env, tmp_path, log.path)  # no arguments: the default `run`
        try:
            await log.wait_for("daemon_started", timeout=60)
            command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
            revision = await current_revision(database_url)
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        finally:
            await stop(process)

    assert revision == head_revision()
    # exec: the entrypoint's own PID is now the daemon, no shell in between to swallow the signal
    assert [part.decode() for part in command_line[-3:]] == [str(Path(sys.executable).parent / "arbitrage"), "run", ""]
    assert process.returncode == 0
    assert log.events()[-1] == "daemon_stopped"


async def test_a_failing_migration_starts_no_daemon(tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'missing-dir' / 'a.db'}"
    log = LogFile(tmp_path / "daemon.log")
    async with SimulatorServer() as sim:
        env = _with_venv_path(daemon_env(sim, database_url))
        process = await start([str(ENTRYPOINT), "run"], env, tmp_path, log.path)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        finally:
            await stop(process)
    assert process.returncode != 0
    assert "markets_loaded" not in log.path.read_text() and "error:" in log.path.read_text()
