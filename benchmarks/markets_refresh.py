"""Market metadata refresh at scale: a simulator scenario with N USDT perpetuals per venue, refreshed into
`symbol_filters` on SQLite and (when reachable) PostgreSQL. Times the first refresh (every row inserted) and a
second one (nothing changed: read + compare) per exchange and per database.

    python -m benchmarks.markets_refresh [--symbols 500] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import configure_logging
from arbitrage.services.market_refresh import RefreshSummary, refresh_markets
from arbitrage.settings import Settings
from arbitrage.simulator.scenario import generated_scenario
from arbitrage.simulator.server import SimulatorServer

DEFAULT_SYMBOLS = 500
DEFAULT_POSTGRES_URL = os.environ.get("ARBITRAGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _settings(sim: SimulatorServer, database_url: str) -> Settings:
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id)}
    return Settings(_env_file=None, database_url=database_url, exchanges=exchanges)  # type: ignore[call-arg]


async def _refresh_twice(sim: SimulatorServer, database_url: str) -> dict[str, Any]:
    await upgrade_to_head(database_url)
    settings = _settings(sim, database_url)
    connectors = build_connectors(settings)
    db = Database(database_url)
    try:
        first = await refresh_markets(db, connectors)
        second = await refresh_markets(db, connectors)
    finally:
        await connectors.close()
        await db.dispose()
    return {"first": [_numbers(s) for s in first], "unchanged": [_numbers(s) for s in second]}


def _numbers(summary: RefreshSummary) -> dict[str, Any]:
    return {
        "exchange": summary.exchange, "listed": summary.listed, "added": len(summary.added),
        "changed": len(summary.changed), "error": summary.error,
        "fetch_s": round(summary.fetch_seconds, 3), "write_s": round(summary.write_seconds, 3),
    }


async def _admin(url: str, statement: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def main(symbols: int = DEFAULT_SYMBOLS, postgres_url: str | None = DEFAULT_POSTGRES_URL) -> dict[str, Any]:
    """The measured numbers: {'symbols': N, 'sqlite': {...}, 'postgresql': {...} or {'skipped': reason}}."""
    results: dict[str, Any] = {"symbols": symbols}
    async with SimulatorServer(scenario=generated_scenario(symbols)) as sim:
        with tempfile.TemporaryDirectory() as directory:
            results["sqlite"] = await _refresh_twice(sim, f"sqlite:///{Path(directory) / 'bench.db'}")
        if postgres_url:
            name = f"arbitrage_bench_{uuid.uuid4().hex[:8]}"
            try:
                await _admin(postgres_url, f"CREATE DATABASE {name}")
            except Exception as error:  # no server: report, do not fail the whole benchmark run
                results["postgresql"] = {"skipped": f"{type(error).__name__}: {error}"}
            else:
                try:
                    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
                    results["postgresql"] = await _refresh_twice(sim, url)
                finally:
                    await _admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return results


def _print(results: dict[str, Any]) -> None:
    print(f"markets refresh, {results['symbols']} symbols per exchange (simulator over loopback)")
    for backend in ("sqlite", "postgresql"):
        data = results.get(backend)
        if data is None:
            continue
        if "skipped" in data:
            print(f"  {backend}: skipped ({data['skipped']})")
            continue
        for label in ("first", "unchanged"):
            for row in data[label]:
                status = row["error"] or f"{row['listed']} listed, {row['added']} added, {row['changed']} changed"
                print(f"  {backend:10} {label:9} {row['exchange']:12} fetch {row['fetch_s']:6.3f} s  "
                      f"write {row['write_s']:6.3f} s  ({status})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--symbols", type=int, default=DEFAULT_SYMBOLS)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES_URL, help="server URL; '' to skip PostgreSQL")
    arguments = parser.parse_args()
    configure_logging("console", "WARNING")  # the per-exchange info lines would drown the table
    _print(asyncio.run(main(arguments.symbols, arguments.postgres or None)))
