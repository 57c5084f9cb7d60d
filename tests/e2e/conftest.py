"""The real daemon (scheduler, pipeline, ccxt connectors) against the in-process simulator over loopback HTTP."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from e2e_harness import DaemonHarness, sim_settings

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.simulator.scenario import DEFAULT_SCENARIO
from arbitrage.simulator.server import SimulatorServer


@pytest.fixture
def scenario() -> dict[str, Any]:
    return copy.deepcopy(json.loads(DEFAULT_SCENARIO.read_text()))


@pytest.fixture
async def sim(scenario: dict[str, Any]) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=scenario) as server:
        yield server


@pytest.fixture
async def harness_factory(sim: SimulatorServer) -> AsyncIterator[Any]:
    harnesses: list[DaemonHarness] = []

    async def make(database_url: str, **overrides: Any) -> DaemonHarness:
        await upgrade_to_head(database_url)
        harness = DaemonHarness(sim, sim_settings(sim, database_url, **overrides))
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        await harness.stop()
