"""The legs of one subscription leave together: each leg's order request is built and signed first, and the
requests are written only once every leg has been signed.

Signing an order through ccxt costs a millisecond or more of the event loop; signing and writing one leg after
the other would put that much (and, with many subscriptions at one instant, every other subscription's signing)
between the two legs. Behind the gate the writes follow one another directly. A leg that fails before it is
signed leaves the gate, and no leg waits longer than `MAX_WAIT_SECONDS` for the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

# A leg waits at most this long for the other legs to be signed (one is held up by something unplanned).
MAX_WAIT_SECONDS = 0.025

_CURRENT: ContextVar[_Party | None] = ContextVar("arbitrage_send_gate", default=None)


class SendGate:
    def __init__(self, parties: int) -> None:
        self._waiting_for = parties
        self._open = asyncio.Event()
        if parties <= 1:
            self._open.set()

    async def signed(self) -> None:
        """Called by a leg once its request is signed: returns when every leg is, and lets the legs that waited
        write first (in the order they were signed)."""
        if self._open.is_set():
            return
        self._arrived()
        if self._open.is_set():
            await asyncio.sleep(0)  # the legs that waited were woken first: they go out first
            return
        # Not wait_for: its extra task would wake the waiting legs one loop turn after the last one.
        timeout = asyncio.get_running_loop().call_later(MAX_WAIT_SECONDS, self._open.set)
        try:
            await self._open.wait()
        finally:
            timeout.cancel()

    def _arrived(self) -> None:
        self._waiting_for -= 1
        if self._waiting_for <= 0:
            self._open.set()


async def through_gate(gate: SendGate, send: Callable[[], Awaitable[T]]) -> T:
    """Run one leg's send with `gate` in force; a leg that ends without reaching the gate leaves it."""
    party = _Party(gate)
    token = _CURRENT.set(party)
    try:
        return await send()
    finally:
        _CURRENT.reset(token)
        if not party.arrived:
            gate._arrived()


class _Party:
    def __init__(self, gate: SendGate) -> None:
        self.gate = gate
        self.arrived = False


async def order_signed() -> None:
    """Called right after an order request was signed, before it is written."""
    party = _CURRENT.get()
    if party is None or party.arrived:
        return
    party.arrived = True
    await party.gate.signed()
