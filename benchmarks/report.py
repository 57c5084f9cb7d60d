"""Plain-text tables of the benchmark results, for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.common import ratio


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], note: str | None = None) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) for i in range(len(headers))]
    line = "  ".join

    def render(row: Sequence[str]) -> str:
        return line(value.ljust(width) if i == 0 else value.rjust(width) for i, (value, width) in
                    enumerate(zip(row, widths, strict=True)))

    parts = [title, render(headers), line("-" * width for width in widths), *(render(row) for row in cells)]
    if note:
        parts.append(note)
    return "\n".join(parts) + "\n"


def _summary(stats: dict[str, Any]) -> list[Any]:
    return [stats.get("p50"), stats.get("p95"), stats.get("max")]


def execution_report(results: dict[str, Any]) -> str:
    runs = results["runs"]
    timed = {name: run for name, run in runs.items() if not run["tracemalloc"]}
    naive = results["naive_baseline"]
    out = [table(
        "1. Trigger precision: trigger -> first order received by the simulator (ms), and where the p50 goes",
        ["run", "subs", "p50", "p95", "max", "wake p50", "wire p50", "prep slack"],
        [*([name, run["subscriptions"], *_summary(run["trigger_to_first_order_ms"]),
            run["stages_ms"]["trigger_to_send"].get("p50"),
            run["stages_ms"]["send_to_received"].get("p50"), run["min_prepare_slack_ms"]]
           for name, run in timed.items()),
         *([f"naive bot, {style} (no database)", 1, *_summary(naive[style]["first_order_after_instant_ms"]),
            None, None, None] for style in ("sequential", "concurrent"))],
        "   wake: trigger -> orders handed to ccxt (the order rows were committed before the trigger);"
        "\n   wire: -> received (ccxt, loopback). prep slack: trigger - last leverage sync (must be > 0).",
    )]
    gap = results["leg_gap"]
    ratios = gap["naive_sequential_over_daemon_p50"]
    out.append(table(
        "2. Leg gap: |primary open received - hedge open received| (ms)",
        ["sender", "p50", "p95", "max", "naive sequential p50 / this p50"],
        [*([f"daemon {name}", *_summary(stats), ratios.get(name)] for name, stats in gap["daemon"].items()),
         ["naive bot: await primary, then hedge", *_summary(gap["naive_sequential"]), 1.0],
         ["same connectors, both gathered", *_summary(gap["naive_concurrent"]),
          ratio(gap["naive_sequential"].get("p50"), gap["naive_concurrent"].get("p50"))]],
        f"   naive rounds: {naive['rounds_per_style']} per style over 8 venue pairs, warm connections, no database",
    ))
    out.append(table(
        "3. Scale: every subscription triggers at the same instant (ms)",
        ["run", "subs", "pairs", "COMPLETED", "trigger->all orders", "trigger->all OPEN", "funding->all COMPLETED",
         "opened late", "daemon CPU s"],
        [[name, s["subscriptions"], s["pairs"], f"{s['completed']}/{s['subscriptions']}",
          s["trigger_to_all_orders_received_ms"], s["trigger_to_all_open_ms"], s["funding_to_all_completed_ms"],
          s["opens_after_funding_time"], runs[name]["cpu_s"].get("daemon")]
         for name, s in results["scale"].items()],
        "   opened late: open orders that reached the exchange after the funding time (no funding earned)."
        "\n   daemon CPU: the daemon process from its start to its stop (the whole cycle, not only the trigger).",
    ))
    memory = results["memory"]
    out.append(table(
        "4. Memory of the daemon process (MiB)",
        ["run", "subs", "peak RSS", "RSS at start", "tracemalloc peak", "traced at start"],
        [[name, run["subscriptions"], run["memory"].get("peak_rss_mb"), run["memory"].get("rss_at_ready_mb"),
          run["memory"].get("traced_peak_mb"), run["memory"].get("traced_at_ready_mb")] for name, run in runs.items()],
        f"   per additional subscription: peak RSS {_cell(memory.get('rss_kib_per_subscription'))} KiB, "
        f"tracemalloc peak {_cell(memory.get('traced_kib_per_subscription'))} KiB"
        "\n   (tracemalloc starts after the imports; tracing slows the daemon, so those runs are not timed)",
    ))
    extra = [(name, request, count) for name, run in timed.items()
             for request, count in run["requests_between_trigger_and_orders"].items()]
    if extra:
        out.append(table(
            "Other requests the exchanges received between the trigger and the last open order",
            ["run", "request", "count"], extra,
        ))
    for name, error in results["errors"].items():
        out.append(f"FAILED {name}: {error}\n")
    incomplete = [name for name in results["failed_runs"] if name not in results["errors"]]
    if incomplete:
        out.append(f"FAILED: not every subscription COMPLETED in {', '.join(incomplete)}\n")
    return "\n".join(out)


def generic_report(title: str, results: dict[str, Any]) -> str:
    """Key/value lines for a benchmark whose shape this module does not know (e.g. markets_refresh)."""
    lines = [title]

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            lines.append(f"  {prefix}:")
            lines.extend("    " + ", ".join(f"{k}={_cell(v)}" for k, v in item.items()) for item in value)
        else:
            lines.append(f"  {prefix}: {_cell(value)}")

    walk("", results)
    return "\n".join(lines) + "\n"
