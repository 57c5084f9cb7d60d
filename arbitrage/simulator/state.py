"""What the HTTP app and the admin API share: the engine, the fault registry, the request log, the rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from arbitrage.simulator.engine import Engine
from arbitrage.simulator.faults import FaultRegistry
from arbitrage.simulator.requestlog import RequestLog


@dataclass
class SimulatorState:
    engine: Engine
    faults: FaultRegistry = field(default_factory=FaultRegistry)
    requests: RequestLog = field(default_factory=RequestLog)


STATE_KEY = web.AppKey("simulator_state", SimulatorState)


def simulator_state(request: web.Request) -> SimulatorState:
    return request.app[STATE_KEY]
