from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_simulator import threaded_simulator

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


@pytest.fixture
def sim(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatorServer]:
    """A running simulator and every exchange configured to use it (through the environment)."""
    with threaded_simulator() as server:
        for name, value in server.env_vars().items():
            monkeypatch.setenv(name, value)
        yield server
