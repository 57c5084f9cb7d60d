"""The naive baseline: the same two orders through the same connectors, first one after the other, then together.

A naive bot wakes at the trigger, `await`s the primary order (for bybit, bingx and mexc that includes the
connector's read-back of the fill), then sends the hedge. The same rounds are also run with both orders sent
concurrently (`asyncio.gather`, what the daemon's `send_orders` does) but without the daemon around them: the
floor the daemon can reach. Connections are warm and position modes known, as in the daemon at its trigger.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from arbitrage.domain import Side
from arbitrage.settings import load_settings
from arbitrage.simulator.server import SimulatorServer

from benchmarks.common import ChildProcess, exchange_settings, ns_to_ms, order_arrivals, prepare_simulator, summary_ms
from benchmarks.daemon_cycle import Template, mixed_templates

STYLES = ("sequential", "concurrent")
SPACING_SECONDS = 0.05  # between rounds; a round takes a few milliseconds


def venue_pairs() -> list[Template]:
    """The eight venue pairs of the daemon benchmark, on BTC."""
    return [t for t in mixed_templates() if t.symbol == "BTC/USDT:USDT"]


def plan_rounds(repeats: int) -> list[dict[str, Any]]:
    """Each style on each venue pair `repeats` times, plus one unmeasured warm-up round per pair and style.

    Every other round on a pair reverses both orders, so positions swing between flat and one amount."""
    rounds: list[dict[str, Any]] = []
    occurrences: dict[tuple[str, str], int] = {}
    for repeat in range(repeats + 1):
        for style in STYLES:
            for template in venue_pairs():
                key = (template.primary, template.hedge)
                flip = occurrences.get(key, 0) % 2 == 1
                occurrences[key] = occurrences.get(key, 0) + 1
                side = template.side.opposite if flip else template.side
                index = len(rounds)
                rounds.append({
                    "style": style,
                    "warmup": repeat == 0,
                    "primary": _order(template.primary, template, side, f"nv{index}p"),
                    "hedge": _order(template.hedge, template, side.opposite, f"nv{index}h"),
                })
    return rounds


def _order(exchange: str, template: Template, side: Side, client_order_id: str) -> dict[str, str]:
    return {
        "exchange": exchange, "symbol": template.symbol, "side": side.opening_order_side.value,
        "amount": str(template.amount), "client_order_id": client_order_id,
    }


async def run_naive_baseline(repeats: int = 3) -> dict[str, Any]:
    rounds = plan_rounds(repeats)
    with tempfile.TemporaryDirectory(prefix="arbitrage-bench-") as directory:
        async with SimulatorServer() as sim:
            prepare_simulator(sim)
            values = {"database_url": f"sqlite:///{Path(directory) / 'unused.sqlite'}",
                      "exchanges": exchange_settings(sim), "order_timeout_seconds": 10}
            load_settings(None, **values)  # fail here, not in the child, on a bad value
            child = await ChildProcess.start(
                {"mode": "naive", "settings": values, "rounds": rounds, "spacing_s": SPACING_SECONDS},
                Path(directory) / "naive.log",
            )
            result = await child.result()
            arrivals = order_arrivals(sim)
    return analyse_rounds(rounds, result["planned_ns"], arrivals)


def analyse_rounds(rounds: list[dict[str, Any]], planned_ns: list[int], arrivals: dict[str, int]) -> dict[str, Any]:
    gaps: dict[str, list[float]] = {style: [] for style in STYLES}
    first: dict[str, list[float]] = {style: [] for style in STYLES}
    missing = 0
    for round_, planned in zip(rounds, planned_ns, strict=True):
        if round_["warmup"]:
            continue
        primary = arrivals.get(round_["primary"]["client_order_id"])
        hedge = arrivals.get(round_["hedge"]["client_order_id"])
        if primary is None or hedge is None:
            missing += 1
            continue
        gaps[round_["style"]].append(ns_to_ms(abs(primary - hedge)))
        first[round_["style"]].append(ns_to_ms(min(primary, hedge) - planned))
    result: dict[str, Any] = {
        style: {"leg_gap_ms": summary_ms(gaps[style]), "first_order_after_instant_ms": summary_ms(first[style])}
        for style in STYLES
    }
    result["rounds_per_style"] = len(gaps["sequential"])
    result["orders_missing"] = missing
    return result
