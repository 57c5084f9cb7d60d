"""The scanner at scale: a simulator scenario with N USDT perpetuals per venue (the exchanges' documented rate
limits on), scanned three times on SQLite: without a cache (what `arbitrage scan` does on a fresh machine), after a
markets refresh (the first scan reads MEXC's collectCycle per symbol), and again (everything cached). Prints the
wall time and the requests each exchange answered per scan.

    python -m benchmarks.scan [--symbols 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import configure_logging
from arbitrage.services.market_refresh import refresh_markets
from arbitrage.services.scan_catalog import ScanCatalog
from arbitrage.services.scanner import scan_opportunities
from arbitrage.settings import Settings
from arbitrage.simulator.scenario import generated_scenario
from arbitrage.simulator.server import SimulatorServer


def _settings(sim: SimulatorServer, database_url: str) -> Settings:
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id)}
    return Settings(_env_file=None, database_url=database_url, exchanges=exchanges)  # type: ignore[call-arg]


async def _timed_scan(sim: SimulatorServer, settings: Settings, db: Database | None) -> dict[str, Any]:
    connectors = build_connectors(settings)
    sim.requests.clear()
    started = time.perf_counter()
    try:
        rows = await scan_opportunities(connectors, ScanCatalog(db, connectors), settings, notional_usdt=Decimal(1000))
    finally:
        await connectors.close()
    requests = {exchange: len(sim.requests.query(exchange=exchange)) for exchange in sim.exchange_ids}
    return {"seconds": round(time.perf_counter() - started, 2), "rows": len(rows), "requests": requests}


async def main(symbols: int = 300) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'scan.db'}"
        async with SimulatorServer(scenario=generated_scenario(symbols)) as sim:
            settings = _settings(sim, url)
            results = {"symbols_per_venue": symbols, "no_cache": await _timed_scan(sim, settings, None)}
            await upgrade_to_head(url)
            db = Database(url)
            connectors = build_connectors(settings)
            try:
                await refresh_markets(db, connectors)
            finally:
                await connectors.close()
            try:
                results["after_refresh"] = await _timed_scan(sim, settings, db)
                results["cached"] = await _timed_scan(sim, settings, db)
            finally:
                await db.dispose()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan", description=__doc__)
    parser.add_argument("--symbols", type=int, default=300)
    configure_logging("console", "WARNING")
    print(json.dumps(asyncio.run(main(parser.parse_args().symbols)), indent=2))
