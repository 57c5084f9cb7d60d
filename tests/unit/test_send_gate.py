"""The legs of one subscription are signed once all are admitted by their budgets, and written back to back
once all are signed (exchanges/send_gate.py)."""

from __future__ import annotations

import asyncio

import pytest

from arbitrage.exchanges.send_gate import (
    MAX_ADMISSION_WAIT_SECONDS,
    MAX_WAIT_SECONDS,
    SendGate,
    order_admitted,
    order_signed,
    through_gate,
)


async def _leg(name: str, events: list[str], sign_after: float = 0.0, fail: bool = False) -> str:
    await asyncio.sleep(sign_after)
    if fail:
        raise RuntimeError(f"{name} failed before it was signed")
    events.append(f"{name} signed")
    await order_signed()
    events.append(f"{name} written")
    return name


async def test_no_leg_is_written_before_every_leg_is_signed() -> None:
    gate, events = SendGate(2), []
    await asyncio.gather(through_gate(gate, lambda: _leg("primary", events)),
                         through_gate(gate, lambda: _leg("hedge", events, sign_after=0.005)))
    assert events == ["primary signed", "hedge signed", "primary written", "hedge written"]


async def test_many_pairs_at_one_instant_are_written_pair_by_pair() -> None:
    events: list[str] = []

    async def pair(index: int) -> None:
        gate = SendGate(2)
        await asyncio.gather(through_gate(gate, lambda: _leg(f"p{index}", events)),
                             through_gate(gate, lambda: _leg(f"h{index}", events)))

    await asyncio.gather(*(pair(index) for index in range(20)))
    writes = [event.split()[0] for event in events if event.endswith("written")]
    assert writes == [leg for index in range(20) for leg in (f"p{index}", f"h{index}")]


async def test_a_leg_that_fails_before_signing_releases_the_other_at_once() -> None:
    gate, events = SendGate(2), []
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(through_gate(gate, lambda: _leg("primary", events)),
                                   through_gate(gate, lambda: _leg("hedge", events, sign_after=0.002, fail=True)),
                                   return_exceptions=True)
    assert results[0] == "primary" and isinstance(results[1], RuntimeError)
    assert loop.time() - started < MAX_WAIT_SECONDS


async def test_a_leg_held_up_before_signing_delays_the_other_by_the_bound_only() -> None:
    gate, events = SendGate(2), []
    loop = asyncio.get_running_loop()
    started = loop.time()
    primary = asyncio.ensure_future(through_gate(gate, lambda: _leg("primary", events)))
    hedge = asyncio.ensure_future(through_gate(gate, lambda: _leg("hedge", events, sign_after=0.5)))
    await primary
    assert loop.time() - started == pytest.approx(MAX_WAIT_SECONDS, abs=0.02)
    hedge.cancel()


async def test_outside_a_gate_an_order_is_written_at_once() -> None:
    events: list[str] = []
    await _leg("alone", events)
    assert events == ["alone signed", "alone written"]


async def _admitted_leg(name: str, events: list[str], admit_after: float = 0.0, fail: bool = False) -> str:
    await asyncio.sleep(admit_after)  # its exchange's budget has no room yet
    if fail:
        raise RuntimeError(f"{name} failed before it was admitted")
    events.append(f"{name} admitted")
    await order_admitted()
    return await _leg(name, events)


async def test_no_leg_is_signed_before_every_leg_is_admitted() -> None:
    """One exchange's budget still waits for an earlier order's write: the other leg, admitted at once, waits
    for it (keeping its own place) rather than going out alone."""
    gate, events = SendGate(2), []
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(through_gate(gate, lambda: _admitted_leg("primary", events)),
                         through_gate(gate, lambda: _admitted_leg("hedge", events, admit_after=0.2)))
    assert events[:2] == ["primary admitted", "hedge admitted"]
    assert events[-2:] == ["primary written", "hedge written"]
    assert 0.2 <= loop.time() - started < 0.3


async def test_a_leg_that_fails_before_its_admission_releases_the_other_at_once() -> None:
    gate, events = SendGate(2), []
    loop = asyncio.get_running_loop()
    started = loop.time()
    results = await asyncio.gather(through_gate(gate, lambda: _admitted_leg("primary", events)),
                                   through_gate(gate, lambda: _admitted_leg("hedge", events, 0.002, fail=True)),
                                   return_exceptions=True)
    assert results[0] == "primary" and isinstance(results[1], RuntimeError)
    assert loop.time() - started < MAX_WAIT_SECONDS


async def test_a_leg_whose_budget_has_no_room_delays_the_other_by_the_bound_only() -> None:
    gate, events = SendGate(2), []
    loop = asyncio.get_running_loop()
    started = loop.time()
    primary = asyncio.ensure_future(through_gate(gate, lambda: _admitted_leg("primary", events)))
    hedge = asyncio.ensure_future(through_gate(gate, lambda: _admitted_leg("hedge", events, admit_after=5)))
    assert await primary == "primary"
    # the admission bound, then the signature bound (the other leg never signs either)
    assert loop.time() - started == pytest.approx(MAX_ADMISSION_WAIT_SECONDS + MAX_WAIT_SECONDS, abs=0.02)
    hedge.cancel()
