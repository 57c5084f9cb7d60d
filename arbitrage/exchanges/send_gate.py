"""The legs of one subscription leave together, in two steps: every leg is admitted by its exchange's order budget
before any is signed, and every leg is signed before any is written.

- Admitted together: each exchange's budget counts an order from its write, so an order may wait for an earlier
  one on its exchange to be written (a busy moment of hundreds of orders). A leg that has its admission waits
  for the other legs' (holding its place in its own budget), up to `MAX_ADMISSION_WAIT_SECONDS`: the send plan
  put both legs in one slot, so that wait is a loop turn or a few hundred ms, not an exchange without room.
- Signed together: signing an order through ccxt costs a millisecond or more of the event loop; signing and
  writing one leg after the other would put that much (and, with many subscriptions at one instant, every other
  subscription's signing) between the two legs. Behind the gate the writes follow one another directly. No leg
  waits longer than `MAX_WAIT_SECONDS` for the others' signatures.

A leg that fails before either step leaves it at once, releasing the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

# A leg waits at most this long for the other legs to be signed. Legs admitted together sign in the order the
# event loop runs them: at a slot of 20 legs, a leg's partner may sign some 20-30 ms after it (signing costs
# 1-2 ms a leg), and a shorter bound would send the first leg alone.
MAX_WAIT_SECONDS = 0.05
# A leg waits at most this long for the other legs' order budgets to admit them.
MAX_ADMISSION_WAIT_SECONDS = 0.5

_CURRENT: ContextVar[_Party | None] = ContextVar("arbitrage_send_gate", default=None)


class _Step:
    """One step every leg must reach before any goes on."""

    def __init__(self, parties: int, max_wait: float) -> None:
        self._waiting_for = parties
        self._max_wait = max_wait
        self._open = asyncio.Event()
        if parties <= 1:
            self._open.set()

    async def reached(self) -> None:
        """Returns when every leg has reached this step, letting the legs that waited go first (in the order
        they arrived)."""
        if self._open.is_set():
            return
        self.arrived()
        if self._open.is_set():
            await asyncio.sleep(0)  # the legs that waited were woken first: they go out first
            return
        # Not wait_for: its extra task would wake the waiting legs one loop turn after the last one.
        timeout = asyncio.get_running_loop().call_later(self._max_wait, self._open.set)
        try:
            await self._open.wait()
        finally:
            timeout.cancel()

    def arrived(self) -> None:
        self._waiting_for -= 1
        if self._waiting_for <= 0:
            self._open.set()


class SendGate:
    def __init__(self, parties: int) -> None:
        self.admitted = _Step(parties, MAX_ADMISSION_WAIT_SECONDS)
        self.signed = _Step(parties, MAX_WAIT_SECONDS)


async def through_gate(gate: SendGate, send: Callable[[], Awaitable[T]]) -> T:
    """Run one leg's send with `gate` in force; a leg that ends without reaching a step leaves it."""
    party = _Party(gate)
    token = _CURRENT.set(party)
    try:
        return await send()
    finally:
        _CURRENT.reset(token)
        if not party.admitted:
            gate.admitted.arrived()
        if not party.signed:
            gate.signed.arrived()


class _Party:
    def __init__(self, gate: SendGate) -> None:
        self.gate = gate
        self.admitted = False
        self.signed = False


async def order_admitted() -> None:
    """Called right after an order was admitted by its budget, before it is signed."""
    party = _CURRENT.get()
    if party is None or party.admitted:
        return
    party.admitted = True
    await party.gate.admitted.reached()


async def order_signed() -> None:
    """Called right after an order request was signed, before it is written."""
    party = _CURRENT.get()
    if party is None or party.signed:
        return
    party.signed = True
    await party.gate.signed.reached()
