"""Run the simulator: in-process for tests (:class:`SimulatorServer`) or until SIGINT/SIGTERM (:func:`run_forever`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from arbitrage.simulator.app import create_app
from arbitrage.simulator.dialects import dialect_problem
from arbitrage.simulator.engine import Clock, Engine
from arbitrage.simulator.faults import FaultRegistry
from arbitrage.simulator.requestlog import RequestLog
from arbitrage.simulator.scenario import Scenario, ScenarioError, load_scenario
from arbitrage.simulator.state import SimulatorState

__all__ = ["ScenarioError", "SimulatorServer", "run_forever"]

ScenarioSource = Path | str | Mapping[str, Any] | Scenario | None


class SimulatorServer:
    """``async with SimulatorServer(scenario=..., port=0) as sim:`` serves every venue on one port.

    Base URLs are ``http://<host>:<port>/<exchange_id>``; ``/admin/...`` is the admin API.
    """

    def __init__(
        self,
        scenario: ScenarioSource = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
        funding_clock: bool = True,
        keepalive_seconds: float = 75.0,
    ) -> None:
        self.scenario = load_scenario(scenario)
        self.engine = Engine(clock)
        self.scenario.apply(self.engine)
        self.state = SimulatorState(self.engine)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._funding_clock = funding_clock
        # An exchange's gateway closes a connection idle this long (aiohttp's default; real gateways vary).
        self._keepalive_seconds = keepalive_seconds

    @property
    def faults(self) -> FaultRegistry:
        return self.state.faults

    @property
    def requests(self) -> RequestLog:
        return self.state.requests

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not running")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def exchange_ids(self) -> list[str]:
        return list(self.engine.venues)

    def base_url(self, exchange_id: str) -> str:
        self.engine.venue(exchange_id)
        return f"{self.url}/{exchange_id}"

    def credentials(self, exchange_id: str) -> tuple[str, str]:
        account = self.engine.venue(exchange_id).default_account()
        return account.api_key, account.secret

    def env_vars(self) -> dict[str, str]:
        """``ARBITRAGE_EXCHANGES__<ID>__BASE_URL|API_KEY|SECRET`` for every simulated exchange."""
        env: dict[str, str] = {}
        for exchange_id in self.exchange_ids:
            prefix = f"ARBITRAGE_EXCHANGES__{exchange_id.upper()}__"
            api_key, secret = self.credentials(exchange_id)
            env[prefix + "BASE_URL"] = self.base_url(exchange_id)
            env[prefix + "API_KEY"] = api_key
            env[prefix + "SECRET"] = secret
        return env

    def write_env_file(self, path: Path | str) -> Path:
        """Write :meth:`env_vars` as ``KEY=value`` lines, readable by the owner only (0600)."""
        path = Path(path)
        lines = [f"{key}={value}\n" for key, value in self.env_vars().items()]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("# written by `arbitrage simulator`; secrets of SIMULATED accounts only\n")
            handle.writelines(lines)
        os.chmod(path, 0o600)
        return path

    async def start(self) -> None:
        app = create_app(self.state)
        self._runner = _AcceptStampingRunner(self.state, app, handler_cancellation=True, shutdown_timeout=1.0,
                                             access_log=None, keepalive_timeout=self._keepalive_seconds)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        if self._funding_clock:
            self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._port = None

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def run_forever(scenario: Path | None, host: str, port: int, write_env: Path | None) -> None:
    """Serve until SIGINT/SIGTERM (or cancellation). Prints one line per exchange. Raises ScenarioError early."""
    server = SimulatorServer(scenario=scenario, host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        async with server:
            for exchange_id in server.exchange_ids:
                problem = dialect_problem(exchange_id)
                note = f"  ({problem})" if problem else ""
                print(f"{exchange_id:<12} {server.base_url(exchange_id)}{note}", flush=True)
            print(f"admin        {server.url}/admin/state", flush=True)
            if write_env is not None:
                server.write_env_file(write_env)
                print(f"wrote {write_env} (mode 0600): use `arbitrage --env-file {write_env} ...`", flush=True)
            else:
                print("tip: --write-env sim.env writes the ARBITRAGE_EXCHANGES__* settings for these URLs", flush=True)
            print("simulator running; Ctrl-C to stop", file=sys.stderr, flush=True)
            await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


class _AcceptStampingRunner(web.AppRunner):
    """Notes when each connection is accepted: a new connection's handshake is timed from then, as a real one
    runs from the client's connect, whether or not a request follows at once."""

    def __init__(self, state: SimulatorState, app: web.Application, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._state = state

    async def _make_server(self) -> Any:
        return _AcceptStamps(await super()._make_server(), self._state)


class _AcceptStamps:
    """aiohttp's protocol factory, with each new connection's protocol stamped with its accept time."""

    def __init__(self, server: Any, state: SimulatorState) -> None:
        self._server, self._state = server, state

    def __call__(self) -> Any:
        protocol = self._server()
        self._state.connection_accepted(protocol)
        return protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)
