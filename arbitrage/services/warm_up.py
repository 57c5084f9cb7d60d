"""Warm-ups: shortly before a send, each of its orders' exchanges opens (or takes) one connection per order in the
orders' own pool and holds it until just before the send (`exchanges/order_connections.py`), so that every order
finds an idle one; a new TLS connection costs two or three round trips, and on one leg only it is the whole leg
gap."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from arbitrage.exchanges.connector import ExchangeConnector
from arbitrage.services.clock import sleep_until

# The warm-ups go early enough for one on a new connection to be answered: WARM_UP_ROUND_TRIPS of the slower
# exchange's measured round trip, or one and a half times what its last new connection took to answer, within
# these bounds. Not earlier: an exchange at its order limit has a send slot about every second, and the next
# slot's warm-ups must not hold the connections this slot's orders are about to take (an order that finds none
# opens its own and pays the handshake). Well inside aiohttp's 15 s keep-alive either way.
WARM_UP_ROUND_TRIPS = 4
WARM_UP_NEW_CONNECTIONS = 1.5
WARM_UP_MIN_SECONDS = 0.25
WARM_UP_MAX_SECONDS = 1.0
# Each warm-up holds its connection until this long before the send. Timers fire in deadline order, so a busy
# loop still releases them before the send's own wake-up.
RELEASE_BEFORE_SECONDS = 0.02

_RUNNING: set[asyncio.Task[None]] = set()  # never awaited by a send path; kept here so none is collected early


def warm_up_lead(connectors: Iterable[ExchangeConnector]) -> float:
    """How long before a send its warm-ups go (see WARM_UP_ROUND_TRIPS)."""
    needs = []
    for connector in connectors:
        if connector.clock_offset is None:
            return WARM_UP_MAX_SECONDS
        needs.append(WARM_UP_ROUND_TRIPS * 2 * connector.clock_offset.uncertainty_ms / 1000)
        if connector.new_connection_seconds is not None:
            needs.append(WARM_UP_NEW_CONNECTIONS * connector.new_connection_seconds)
    return min(max([WARM_UP_MIN_SECONDS, *needs]), WARM_UP_MAX_SECONDS)


async def warm_up_before(at: datetime, connectors: Sequence[ExchangeConnector], stop: asyncio.Event) -> None:
    """Sleep until the warm-up lead before `at`, then warm up every connector in the background; no warm-up when
    `stop` was set meanwhile (the caller's own wait sees it)."""
    if not await sleep_until(at - timedelta(seconds=warm_up_lead(connectors)), stop):
        return
    task = asyncio.create_task(_warm_up(connectors, at - timedelta(seconds=RELEASE_BEFORE_SECONDS)))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def _warm_up(connectors: Sequence[ExchangeConnector], until: datetime) -> None:
    await asyncio.gather(*(connector.warm_up(until) for connector in connectors), return_exceptions=True)
