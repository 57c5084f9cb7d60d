"""The soak, short: back-to-back funding cycles through the daemon as a child process, random order faults, kill -9
and restart. ARBITRAGE_SOAK_SECONDS makes it longer (`python -m benchmarks.soak` runs it on its own)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.soak import run_soak

SOAK_SECONDS = float(os.environ.get("ARBITRAGE_SOAK_SECONDS", "15"))


@pytest.mark.soak
@pytest.mark.timeout(SOAK_SECONDS + 150)
async def test_soak_leaves_no_row_unfinished_and_no_position_without_needs_attention(tmp_path: Path) -> None:
    result = await run_soak(SOAK_SECONDS, seed=int(os.environ.get("ARBITRAGE_SOAK_SEED", "7")), workdir=tmp_path)
    assert result["problems"] == [], result
    assert result["cycles"] >= SOAK_SECONDS // 1.5 and result["kills"] >= 1, result
    assert sum(result["faults"].values()) >= 1, result
    assert result["rss_end_mb"] is not None and result["rss_start_mb"] > 0
    print(f"soak: {result}")  # the counts, in the test's captured output
