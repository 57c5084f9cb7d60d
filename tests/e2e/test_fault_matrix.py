"""The fault matrix (tests/e2e/fault_matrix.py): every cell's rows tell the truth and no leg is left behind an ERROR.

Run with `-s` to see the matrix: one line per cell with its final status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from e2e_harness import DaemonHarness
from fault_matrix import (
    LEAD_SECONDS,
    SETTINGS,
    Cell,
    add_faults,
    cell_symbols,
    matrix_scenario,
    order_cells,
    other_cells,
    problems,
    summary,
)

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.domain import Side

BATCH_SIZE = max(len(order_cells("open")), len(other_cells()))
# Start-up (markets of every cell's symbol on four venues), preparation and the lead, before the funding time.
FUNDING_IN_SECONDS = LEAD_SECONDS + SETTINGS["leverage_sync_ahead_seconds"] + 5


@pytest.fixture
def scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    return matrix_scenario(scenario, cell_symbols(BATCH_SIZE))


async def run_cells(harness: DaemonHarness, cells: list[Cell]) -> dict[Cell, Subscription]:
    sim = harness.sim
    funding_ms = (sim.engine.now() + FUNDING_IN_SECONDS * 1000) // 1000 * 1000
    funding_time = datetime.fromtimestamp(funding_ms / 1000, UTC)
    ids: dict[Cell, int] = {}
    for cell, symbol in zip(cells, cell_symbols(len(cells)), strict=True):
        for exchange in (cell.primary, cell.hedge):
            sim.engine.set_funding(exchange, symbol, next_funding_time=funding_ms,
                                   rate=Decimal("0.0005") if exchange == cell.primary else Decimal("0.0001"))
        async with harness.db.unit_of_work() as session:
            subscription = await repo.create_subscription(
                session, primary_exchange=cell.primary, primary_symbol=symbol, hedge_exchange=cell.hedge,
                hedge_symbol=symbol, side=Side.SHORT, amount=Decimal("0.01"), funding_time=funding_time,
                lead_seconds=LEAD_SECONDS, leverage=3,
            )
        add_faults(sim, cell, subscription, symbol)
        ids[cell] = subscription.id
    await harness.start()
    await harness.wait_until_finished(ids.values(), timeout=FUNDING_IN_SECONDS + 60)
    return {cell: (await harness.story(sid)).subscription for cell, sid in ids.items()}


async def check(harness: DaemonHarness, results: dict[Cell, Subscription]) -> None:
    print("\n" + summary(results))
    found = {}
    for cell, subscription in results.items():
        orders = (await harness.story(subscription.id)).orders
        cell_problems = problems(harness.sim, cell, subscription, orders)
        if cell_problems:
            found[cell.name] = cell_problems
    assert found == {}


async def test_open_faults(migrated_database_url, harness_factory) -> None:
    harness = await harness_factory(migrated_database_url, lead_seconds=LEAD_SECONDS, **SETTINGS)
    await check(harness, await run_cells(harness, order_cells("open")))


async def test_close_faults(harness_factory, tmp_path) -> None:
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", lead_seconds=LEAD_SECONDS, **SETTINGS)
    await check(harness, await run_cells(harness, order_cells("close")))


async def test_leverage_funding_lookup_and_position_faults(harness_factory, tmp_path) -> None:
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", lead_seconds=LEAD_SECONDS, **SETTINGS)
    await check(harness, await run_cells(harness, other_cells()))
