"""The simulator for CLI tests, in a module of its own name: `conftest` is ambiguous when several test folders
run together."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from arbitrage.simulator.server import SimulatorServer


@contextmanager
def threaded_simulator(scenario: Any = None) -> Iterator[SimulatorServer]:
    """The simulator on its own event loop in a thread: the CLI under test runs `asyncio.run` itself."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = SimulatorServer(scenario=scenario)
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(timeout=30)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
