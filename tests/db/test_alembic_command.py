"""`alembic upgrade head` from the repository root, with the URL taken from the application settings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from arbitrage.db.migrate import current_revision, head_revision

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_alembic_command_line_reads_url_from_settings(tmp_path: Path) -> None:
    database = tmp_path / "via-alembic.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARBITRAGE_")}
    env["ARBITRAGE_DATABASE_URL"] = f"sqlite:///{database}"
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert asyncio.run(current_revision(f"sqlite:///{database}")) == head_revision()
