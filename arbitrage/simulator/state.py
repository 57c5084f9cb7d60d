"""What the HTTP app and the admin API share: the engine, faults, the request log, rate-limit counters, connections."""

from __future__ import annotations

import time
import weakref
from asyncio import BaseTransport
from dataclasses import dataclass, field

from aiohttp import web

from arbitrage.simulator.engine import Engine
from arbitrage.simulator.faults import FaultRegistry
from arbitrage.simulator.rate_limits import RateLimiter
from arbitrage.simulator.requestlog import RequestLog


_ACCEPTED_KEPT = 10_000


@dataclass
class SimulatorState:
    engine: Engine
    faults: FaultRegistry = field(default_factory=FaultRegistry)
    requests: RequestLog = field(default_factory=RequestLog)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    connections: weakref.WeakSet[BaseTransport] = field(default_factory=weakref.WeakSet)  # seen (not new)
    # Per connection (its protocol object) until its first request: when it was accepted (monotonic).
    accepted: dict[object, float] = field(default_factory=dict)

    prune_accepted_at: int = _ACCEPTED_KEPT

    def connection_accepted(self, protocol: object) -> None:
        # aiohttp's protocol objects take no weak references: entries of connections that never sent a request
        # (or only to the admin API) are dropped after a minute, checked when the table has doubled.
        if len(self.accepted) >= self.prune_accepted_at:
            cutoff = time.monotonic() - 60
            self.accepted = {p: at for p, at in self.accepted.items() if at >= cutoff}
            self.prune_accepted_at = max(_ACCEPTED_KEPT, 2 * len(self.accepted))
        self.accepted[protocol] = time.monotonic()

    def connection_age_ms(self, protocol: object) -> float:
        """How long ago the connection of this, its first request, was accepted (0 when unknown)."""
        accepted = self.accepted.pop(protocol, None)
        return (time.monotonic() - accepted) * 1000 if accepted is not None else 0.0

    def first_on_connection(self, transport: BaseTransport | None) -> bool:
        """True for the first request seen on this TCP connection (keep-alive reuses the transport)."""
        if transport is None or transport in self.connections:
            return False
        self.connections.add(transport)
        return True


STATE_KEY = web.AppKey("simulator_state", SimulatorState)


def simulator_state(request: web.Request) -> SimulatorState:
    return request.app[STATE_KEY]
