"""`python -m benchmarks` (`make bench`): run every benchmark, print the tables, write results/latest.json.

Exit status 1 when a benchmark failed (e.g. a subscription did not reach COMPLETED); the results are written anyway.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arbitrage.logging import configure_logging

from benchmarks import execution
from benchmarks.report import execution_report, generic_report

RESULTS_DIR = Path(__file__).resolve().parent / "results"
OPTIONAL_BENCHMARKS = ("markets_refresh",)  # modules exposing `async def main() -> dict`, run when present


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="one subscription with a 2 s lead, no scale or tracemalloc run (a smoke run of ~15 s)")
    parser.add_argument("--scale", type=int, default=execution.SCALE_COUNT, metavar="N",
                        help=f"subscriptions in the scale run (default {execution.SCALE_COUNT}; 0 skips it)")
    parser.add_argument("--postgres", metavar="URL",
                        help="repeat the largest concurrent run on a scratch database of this PostgreSQL server, "
                             "e.g. postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--profile", metavar="DIR", type=Path,
                        help="profile the daemon's event loop in each timed run into DIR/<run>.pstats (slows it)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json", help="where to write the JSON")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    load = os.getloadavg()
    print("execution benchmarks (daemon in a child process, simulator in this one):", file=sys.stderr)
    if args.quick:
        results = await execution.main(
            isolated_count=1, concurrent_counts=(), scale_count=0, memory_count=0, naive_repeats=1, lead_seconds=2
        )
    else:
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        results = await execution.main(scale_count=args.scale, postgres_url=args.postgres, profile_dir=args.profile)
    output: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(value, 2) for value in load],  # other work on the machine skews timings
        },
        "execution": results,
    }
    for name in OPTIONAL_BENCHMARKS:
        output[name] = {"skipped": "--quick"} if args.quick else await _optional(name)
    output["total_wall_s"] = round(time.perf_counter() - started, 1)
    return output


async def _optional(name: str) -> dict[str, Any]:
    if importlib.util.find_spec(f"benchmarks.{name}") is None:
        return {"skipped": f"benchmarks/{name}.py is not there"}
    print(f"{name} benchmark ...", file=sys.stderr)
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        return dict(await module.main())
    except Exception as error:  # one broken benchmark must not hide the others' results
        return {"error": f"{type(error).__name__}: {error}"}


def write_results(output: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent == RESULTS_DIR and not (RESULTS_DIR / ".gitignore").exists():
        (RESULTS_DIR / ".gitignore").write_text("*\n!.gitignore\n")  # results are never committed
    path.write_text(json.dumps(output, indent=2, default=str) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("console", "WARNING")  # this process hosts the simulator; the daemon logs to its own file
    output = asyncio.run(run(args))
    write_results(output, args.output)
    print()
    print(execution_report(output["execution"]))
    failed = bool(output["execution"]["failed_runs"])
    for name in OPTIONAL_BENCHMARKS:
        if "skipped" not in output[name]:
            print(generic_report(f"{name}:", output[name]))
        failed = failed or "error" in output[name]
    print(f"results: {args.output} (total {output['total_wall_s']} s on {os.cpu_count()} cores)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
