"""Send slots at a funding instant: both legs of a subscription leave together, within every exchange's order
limits, as late as the lead allows and never later.

Each subscription asks to send at its trigger (`preferred`). In subscription order (so that a later subscription
never moves an earlier one), it gets the latest time at or before `preferred` at which each of its exchanges still
has room in all its order windows: when an exchange is full at the trigger, the pair starts earlier, never late.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Slots are planned this much further apart than the documented windows: the 50 ms the request budget adds for
# jitter on the way, and 100 ms for a slot's own spread. A slot's orders are recorded, signed and written one after
# another, and the budget counts each from its write, so the next slot must find the last of them out of its
# window; otherwise every slot would wait for the one before it, and the waits would add up over the instant.
WINDOW_MARGIN_SECONDS = 0.15


@dataclass(frozen=True)
class SlotRequest:
    key: int  # the subscription id
    exchanges: tuple[str, ...]
    preferred: float  # epoch seconds


Windows = Sequence[tuple[int, float]]  # (orders, seconds) per window


def assign_slots(
    requests: Iterable[SlotRequest], limits: Mapping[str, Windows], taken: Mapping[str, Sequence[float]] | None = None,
) -> dict[int, float]:
    """Send time per request key. `taken`: send times already assigned on each exchange."""
    sends: dict[str, list[float]] = {exchange: sorted(times) for exchange, times in (taken or {}).items()}
    slots: dict[int, float] = {}
    for request in sorted(requests, key=lambda r: r.key):
        at = _latest_fit(request, limits, sends)
        slots[request.key] = at
        for exchange in request.exchanges:
            bisect.insort(sends.setdefault(exchange, []), at)
    return slots


def earliest_fit(exchanges: Sequence[str], not_before: float, limits: Mapping[str, Windows],
                 taken: Mapping[str, Sequence[float]]) -> float:
    """The earliest time at or after `not_before` at which every exchange has room for one more send (a close
    goes as soon as it can, both legs together)."""
    sends = {exchange: sorted(taken.get(exchange, ())) for exchange in exchanges}
    candidates = {not_before}
    for exchange in exchanges:
        for _, seconds in limits.get(exchange, ()):
            width = seconds + WINDOW_MARGIN_SECONDS
            candidates.update(sent + width for sent in sends[exchange] if sent + width > not_before)
    for at in sorted(candidates):
        if all(_fits(sends[exchange], limits.get(exchange, ()), at) for exchange in exchanges):
            return at
    raise AssertionError("unreachable: a time after every send always fits")


def _latest_fit(request: SlotRequest, limits: Mapping[str, Windows], sends: Mapping[str, list[float]]) -> float:
    candidates = {request.preferred}
    for exchange in request.exchanges:
        for _, seconds in limits.get(exchange, ()):
            width = seconds + WINDOW_MARGIN_SECONDS
            for sent in sends.get(exchange, ()):
                candidates.update(moment for moment in (sent - width, sent + width) if moment <= request.preferred)
    for at in sorted(candidates, reverse=True):
        if all(_fits(sends.get(exchange, []), limits.get(exchange, ()), at) for exchange in request.exchanges):
            return at
    raise AssertionError("unreachable: a time before every send always fits")


def _fits(sends: list[float], windows: Windows, at: float) -> bool:
    """Adding a send at `at` keeps every window (of each length) at or under its count."""
    for orders, seconds in windows:
        width = seconds + WINDOW_MARGIN_SECONDS
        # Windows that contain `at` end at `at` or at a later send within `width`: check each of those ends.
        ends = [at, *sends[bisect.bisect_left(sends, at):bisect.bisect_left(sends, at + width)]]
        for end in ends:
            inside = bisect.bisect_right(sends, end) - bisect.bisect_right(sends, end - width)
            if inside + 1 > orders:
                return False
    return True
