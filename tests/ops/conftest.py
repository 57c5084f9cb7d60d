"""The ops HTTP listener on an ephemeral port, over a real database, real connectors against the simulator (whose
clock can be set off by some milliseconds) and a real scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from ops_harness import Ops, SkewedClock, settings_for

from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.session import Database
from arbitrage.exchanges.factory import build_connectors
from arbitrage.ops.health import HealthChecks
from arbitrage.ops.http_server import OpsHttpServer
from arbitrage.ops.state_collector import DaemonStateCollector
from arbitrage.simulator.server import SimulatorServer


@pytest.fixture
def sim_clock() -> SkewedClock:
    return SkewedClock()


@pytest.fixture
async def sim(sim_clock: SkewedClock) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(scenario=None, clock=sim_clock) as server:
        yield server


@pytest.fixture
async def make_ops(sim: SimulatorServer, tmp_path: Any) -> AsyncIterator[Callable[..., Awaitable[Ops]]]:
    """`await make_ops(database_url=None, **settings)`: a listener on a free port; everything is closed after."""
    made: list[Ops] = []

    async def make(database_url: str | None = None, *, migrate: bool = True, **overrides: Any) -> Ops:
        url = database_url or f"sqlite:///{tmp_path / f'ops{len(made)}.sqlite'}"
        if migrate:
            await upgrade_to_head(url)
        settings = settings_for(sim, url, **overrides)
        db = Database(url)
        connectors = build_connectors(settings)
        ops = Ops(settings, db, connectors, server=None)  # type: ignore[arg-type]
        checks = HealthChecks(settings, db, connectors, lambda: ops.scheduler, database_timeout_seconds=1)
        ops.server = OpsHttpServer(checks, DaemonStateCollector(db, connectors, refresh_timeout_seconds=1),
                                   "127.0.0.1", 0)
        await ops.server.start()
        made.append(ops)
        return ops

    yield make
    for ops in made:
        await ops.server.stop()
        if ops.scheduler is not None:
            await ops.scheduler.shutdown()
        await ops.connectors.close()
        await ops.db.dispose()
