"""The SQLite daemon lock follows the database's real path: the same file reached through a symbolic link is
locked once. (Found by review: two daemons held "the" lock at once.)"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from arbitrage.db.daemon_lock import DaemonAlreadyRunning, daemon_lock


async def test_same_database_through_a_symlink_is_locked_once(tmp_path: Path) -> None:
    real = tmp_path / "data" / "arbitrage.db"
    real.parent.mkdir()
    sqlite3.connect(real).close()
    link = tmp_path / "arbitrage.db"
    os.symlink(real, link)
    assert os.path.samefile(real, link)
    both_held = False
    async with daemon_lock(f"sqlite:///{real}"):
        try:
            async with daemon_lock(f"sqlite:///{link}"):
                both_held = True
        except DaemonAlreadyRunning:
            pass
    print(f"\nlock files: {sorted(p.name for p in tmp_path.rglob('*.lock'))}; both daemons held the lock: {both_held}")
    assert not both_held, "two daemons hold the lock of one database"
