"""The execution benchmark runs end to end with one subscription and reports every figure `make bench` prints.

No timing is asserted here: speed is what the benchmark reports, not what a test decides.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # `benchmarks` is not an installed package; `pytest` alone does not add the root
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks import execution  # noqa: E402
from benchmarks.report import execution_report  # noqa: E402

SUMMARY_KEYS = {"count", "min", "p50", "p95", "max"}


async def test_execution_benchmark_with_one_subscription_reports_every_figure():
    results = await execution.main(
        isolated_count=1, concurrent_counts=(), scale_count=0, memory_count=0, naive_repeats=1, lead_seconds=2
    )

    assert results["failed_runs"] == []
    run = results["runs"]["isolated_1"]
    assert run["statuses"] == {"COMPLETED": 1}
    assert run["subscriptions"] == 1
    for figure in (run["trigger_to_first_order_ms"], run["leg_gap_ms"], *run["stages_ms"].values()):
        assert set(figure) == SUMMARY_KEYS and figure["count"] == 1
    assert {"trigger_to_all_orders_received_ms", "trigger_to_all_open_ms", "funding_to_all_completed_ms"} <= set(run)
    assert run["memory"]["peak_rss_mb"] > 0
    assert results["trigger_precision"]["isolated_1"]["count"] == 1
    for style in ("sequential", "concurrent"):
        assert set(results["naive_baseline"][style]["leg_gap_ms"]) == SUMMARY_KEYS
    assert results["naive_baseline"]["orders_missing"] == 0
    assert results["leg_gap"]["naive_sequential_over_daemon_p50"].keys() == {"isolated_1"}
    assert "1. Trigger precision" in execution_report(results)
