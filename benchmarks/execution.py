"""Execution benchmarks of the real daemon: trigger precision, leg gap (against a naive baseline), scale, memory.

Every daemon run (see daemon_cycle) yields, per subscription:
- trigger → first order received by the simulator, split into two stages: trigger → orders handed to ccxt
  (wake-up; the order rows were committed before the trigger, so no database work lies here), → received by the
  simulator (ccxt, loopback);
- the leg gap: |received(primary open) − received(hedge open)|;
- trigger → OPEN, and funding time → COMPLETED.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arbitrage.db.models import Subscription, SubscriptionEvent
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.status import Status

from benchmarks.common import ORDER_PATHS, ChildFailed, ns_to_ms, ratio, summary_ms
from benchmarks.daemon_cycle import (
    DEFAULT_LEAD_SECONDS,
    SHARED_TEMPLATE,
    CyclePlan,
    CycleRun,
    isolated_templates,
    mixed_templates,
    run_cycle,
)
from benchmarks.naive import run_naive_baseline

ISOLATED_COUNT = 6  # single subscriptions, each trigger alone (see daemon_cycle.isolated_templates)
ISOLATED_STAGGER_SECONDS = 0.3  # all six triggers fall between the last preparation and the first funding time
CONCURRENT_COUNTS = (10, 50)  # subscriptions of mixed venue pairs triggering at the same instant
SCALE_COUNT = 100
MEMORY_COUNT = 20  # the tracemalloc run (tracing slows the daemon about threefold)
NAIVE_REPEATS = 3
TOP_REQUESTS = 8
SCALE_FIGURES = (
    "subscriptions", "pairs", "completed", "trigger_to_all_orders_received_ms", "trigger_to_all_open_ms",
    "funding_to_all_completed_ms", "opens_after_funding_time",
)
LONG_NUMBER = re.compile(r"\d{6,}")  # order ids in paths (mexc): one row per endpoint, not per order


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (a float timestamp would round the microseconds)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def _ms_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000


def _event_at(events: Sequence[SubscriptionEvent], name: str) -> datetime | None:
    return next((event.at for event in events if event.event == name), None)


def subscription_timing(run: CycleRun, subscription: Subscription) -> dict[str, Any]:
    trigger = run.config.trigger_time(subscription)
    events = run.events[subscription.id]
    opens = {o.leg: o for o in run.orders[subscription.id] if o.purpose is OrderPurpose.OPEN}
    arrivals = {leg: run.arrivals.get(order.client_order_id) for leg, order in opens.items()}
    timing: dict[str, Any] = {"id": subscription.id, "status": str(subscription.status)}
    prepared = _event_at(events, "leverage_synced")
    if prepared is not None:
        timing["prepare_slack_ms"] = _ms_between(prepared, trigger)
    received = [at for at in arrivals.values() if at is not None]
    if received:
        timing["first_order_ms"] = ns_to_ms(min(received) - _ns(trigger))
        timing["last_order_ns"] = max(received)
        timing["opened_after_funding"] = max(received) >= _ns(subscription.funding_time)
    if arrivals.get(Leg.PRIMARY) is not None and arrivals.get(Leg.HEDGE) is not None:
        timing["leg_gap_ms"] = ns_to_ms(abs(arrivals[Leg.PRIMARY] - arrivals[Leg.HEDGE]))
    handed = [o.sent_at for o in opens.values() if o.sent_at is not None]
    if handed and received:
        timing["stage_wake_ms"] = _ms_between(trigger, min(handed))
        timing["stage_wire_ms"] = ns_to_ms(min(received) - _ns(min(handed)))
    opened = _event_at(events, "opened")
    if opened is not None:
        timing["opened_ms"] = _ms_between(trigger, opened)
    completed = _event_at(events, "completed")
    if completed is not None:
        timing["completed_after_funding_ms"] = _ms_between(subscription.funding_time, completed)
    return timing


def _values(timings: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [t[key] for t in timings if key in t]


def requests_between_trigger_and_orders(run: CycleRun, timings: Sequence[dict[str, Any]]) -> dict[str, int]:
    """What else reached the exchanges while open orders were due (from a trigger to the last open order of that
    trigger's subscriptions): each is a round trip some order waited on, or competed with."""
    windows = sorted(
        (_ns(run.config.trigger_time(subscription)), timing["last_order_ns"])
        for subscription, timing in zip(run.subscriptions, timings, strict=True)
        if "last_order_ns" in timing
    )
    merged: list[tuple[int, int]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    counts: Counter[str] = Counter()
    for record in run.requests:
        if not any(start <= record.received_ns <= end for start, end in merged):
            continue
        if record.method == "POST" and record.path == ORDER_PATHS.get(record.exchange):
            continue
        counts[f"{record.exchange} {record.method} {LONG_NUMBER.sub('{id}', record.path)}"] += 1
    return dict(counts.most_common(TOP_REQUESTS))


def analyse(run: CycleRun) -> dict[str, Any]:
    timings = [subscription_timing(run, s) for s in run.subscriptions]
    statuses = Counter(str(s.status) for s in run.subscriptions)
    failures = [
        {"id": s.id, "status": str(s.status), "error": s.error_message}
        for s in run.subscriptions if s.status is not Status.COMPLETED
    ]
    triggers = {run.config.trigger_time(s) for s in run.subscriptions}
    last_orders = _values(timings, "last_order_ns")
    result: dict[str, Any] = {
        "subscriptions": run.plan.count,
        "pairs": _pairs(run.plan),
        "database": "sqlite" if run.plan.database == "sqlite" else "postgresql",
        "lead_s": run.plan.lead_seconds,
        "leverage_sync_ahead_s": run.plan.leverage_sync_ahead_seconds,
        "tracemalloc": run.plan.track_memory,
        "wall_s": run.wall_seconds,
        "cpu_s": run.cpu_seconds,
        "statuses": dict(statuses),
        "completed": statuses.get(str(Status.COMPLETED), 0),
        "failures": failures[:10],
        "trigger_to_first_order_ms": summary_ms(_values(timings, "first_order_ms")),
        "leg_gap_ms": summary_ms(_values(timings, "leg_gap_ms")),
        "stages_ms": {
            "trigger_to_send": summary_ms(_values(timings, "stage_wake_ms")),
            "send_to_received": summary_ms(_values(timings, "stage_wire_ms")),
        },
        "min_prepare_slack_ms": _rounded(min(_values(timings, "prepare_slack_ms"), default=None)),
        "requests_between_trigger_and_orders": requests_between_trigger_and_orders(run, timings),
        "memory": {**run.memory, "rss_at_ready_mb": run.memory_at_ready.get("rss_mb"),
                   "traced_at_ready_mb": run.memory_at_ready.get("traced_current_mb")},
    }
    result["opens_after_funding_time"] = sum(1 for t in timings if t.get("opened_after_funding"))
    if len(triggers) == 1 and last_orders:  # every subscription triggers at the same instant
        trigger = triggers.pop()
        result["trigger_to_all_orders_received_ms"] = round(ns_to_ms(max(last_orders) - _ns(trigger)), 3)
    opened = _values(timings, "opened_ms")
    if opened:
        result["trigger_to_all_open_ms"] = round(max(opened), 3)
    completed = _values(timings, "completed_after_funding_ms")
    if completed:
        result["funding_to_all_completed_ms"] = round(max(completed), 3)
    return result


def _pairs(plan: CyclePlan) -> str:
    if plan.stagger_seconds:
        return f"isolated, triggers {plan.stagger_seconds:g} s apart"
    return "shared" if len(set(plan.templates)) == 1 else "mixed"


def per_subscription(big: dict[str, Any], small: dict[str, Any], key: str) -> float | None:
    """KiB per additional subscription between two runs."""
    count = big["subscriptions"] - small["subscriptions"]
    high, low = big["memory"].get(key), small["memory"].get(key)
    if count <= 0 or high is None or low is None:
        return None
    return round((high - low) * 1024 / count, 1)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _measured(
    name: str, plan: CyclePlan, runs: dict[str, Any], errors: dict[str, str], profile_dir: Path | None = None
) -> dict[str, Any] | None:
    """Run and analyse one cycle; a cycle that could not finish is recorded in `errors` and the others go on."""
    _progress(f"  {name}: {plan.count} subscription(s) through the daemon ...")
    try:
        result = analyse(await run_cycle(plan, profile_dir if not plan.track_memory else None))
    except ChildFailed as error:
        errors[name] = str(error)
        _progress(f"    FAILED: {error}")
        return None
    runs[name] = result
    _progress(f"    done in {result['wall_s']} s: {result['statuses']}")
    return result


async def main(
    isolated_count: int = ISOLATED_COUNT,
    concurrent_counts: Sequence[int] = CONCURRENT_COUNTS,
    scale_count: int = SCALE_COUNT,
    memory_count: int = MEMORY_COUNT,
    naive_repeats: int = NAIVE_REPEATS,
    lead_seconds: int = DEFAULT_LEAD_SECONDS,
    postgres_url: str | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Run every execution benchmark; returns the results (also what benchmarks/results/latest.json holds).

    A count of 0 skips that benchmark. `lead_seconds` is every subscription's lead (the shipped default; the
    smoke test uses 2 s to be quick). With `postgres_url` (a server URL), the largest concurrent run is repeated
    on a scratch PostgreSQL database: the same cycle, only the database differs. With `profile_dir`, each timed
    run's daemon event loop is profiled into `<profile_dir>/<run>.pstats`."""
    runs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if isolated_count:
        name = f"isolated_{isolated_count}"
        plan = CyclePlan(name, isolated_templates(), isolated_count, stagger_seconds=ISOLATED_STAGGER_SECONDS,
                         lead_seconds=lead_seconds)
        await _measured(name, plan, runs, errors, profile_dir)
    for count in concurrent_counts:
        name = f"mixed_{count}"
        plan = CyclePlan(name, mixed_templates(), count, lead_seconds=lead_seconds)
        await _measured(name, plan, runs, errors, profile_dir)
    if postgres_url and concurrent_counts:
        name = f"mixed_{max(concurrent_counts)}_postgresql"
        plan = CyclePlan(name, mixed_templates(), max(concurrent_counts), database=postgres_url,
                         lead_seconds=lead_seconds)
        await _measured(name, plan, runs, errors, profile_dir)
    if scale_count:
        name = f"shared_{scale_count}"
        plan = CyclePlan(name, [SHARED_TEMPLATE], scale_count, lead_seconds=lead_seconds)
        await _measured(name, plan, runs, errors, profile_dir)
    traced: dict[str, Any] = {}
    if memory_count:
        for count in sorted({1, memory_count}):
            plan = CyclePlan(f"traced_{count}", mixed_templates(), count, track_memory=True,
                             lead_seconds=lead_seconds)
            if (result := await _measured(plan.name, plan, runs, errors)) is not None:
                traced[str(count)] = result
    _progress(f"  naive baseline: {naive_repeats} round(s) per venue pair and style ...")
    naive = await run_naive_baseline(naive_repeats)
    return assemble(runs, traced, naive, errors)


def assemble(
    runs: dict[str, Any], traced: dict[str, Any], naive: dict[str, Any], errors: dict[str, str] | None = None
) -> dict[str, Any]:
    untraced = [r for r in runs.values() if not r["tracemalloc"] and r["database"] == "sqlite"]
    sequential_gap = naive["sequential"]["leg_gap_ms"]
    memory: dict[str, Any] = {"peak_rss_mb": {name: r["memory"].get("peak_rss_mb") for name, r in runs.items()}}
    if untraced:
        smallest = min(untraced, key=lambda r: r["subscriptions"])
        largest = max(untraced, key=lambda r: r["subscriptions"])
        memory["rss_kib_per_subscription"] = per_subscription(largest, smallest, "peak_rss_mb")
    if len(traced) == 2:
        low, high = (traced[key] for key in sorted(traced, key=int))
        memory["traced_peak_mb"] = {name: r["memory"].get("traced_peak_mb") for name, r in traced.items()}
        memory["traced_kib_per_subscription"] = per_subscription(high, low, "traced_peak_mb")
    return {
        "runs": runs,
        "trigger_precision": {
            name: {"subscriptions": r["subscriptions"], **r["trigger_to_first_order_ms"]}
            for name, r in runs.items() if not r["tracemalloc"]
        },
        "leg_gap": {
            "daemon": {name: r["leg_gap_ms"] for name, r in runs.items() if not r["tracemalloc"]},
            "naive_sequential": sequential_gap,
            "naive_concurrent": naive["concurrent"]["leg_gap_ms"],
            # how many times wider the naive bot's gap is than the daemon's, per daemon run (p50 against p50)
            "naive_sequential_over_daemon_p50": {
                name: ratio(sequential_gap.get("p50"), r["leg_gap_ms"].get("p50"))
                for name, r in runs.items() if not r["tracemalloc"]
            },
        },
        "naive_baseline": naive,
        "scale": {
            name: {key: r.get(key) for key in SCALE_FIGURES} for name, r in runs.items() if not r["tracemalloc"]
        },
        "memory": memory,
        "errors": errors or {},
        "failed_runs": [name for name, r in runs.items() if r["completed"] != r["subscriptions"]] + list(errors or {}),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
