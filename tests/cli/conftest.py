from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from arbitrage.cli.app import main
from arbitrage.logging import clear_registered_secrets, reset_logging
from arbitrage.simulator.server import SimulatorServer


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


Run = Callable[..., Result]


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty working directory and no ARBITRAGE_* settings from the developer's shell. The logging the
    commands configure is undone afterwards."""
    for name in list(os.environ):
        if name.startswith("ARBITRAGE_") and name != "ARBITRAGE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("ARBITRAGE_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    reset_logging()
    clear_registered_secrets()


@pytest.fixture
def run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the real `arbitrage` command in-process: `run("list", "--json")`."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


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


@pytest.fixture
def sim(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorServer]:
    """A running simulator and every exchange configured to use it (through the environment)."""
    with threaded_simulator() as server:
        for name, value in server.env_vars().items():
            monkeypatch.setenv(name, value)
        yield server
