"""The public order book of an instrument: a ladder around the mark price (the simulator has no resting orders).

Best bid and ask sit `book_half_spread_ticks` ticks either side of the mark, each further level `book_step_ticks`
ticks away, every level holding `book_level_qty` order units (1000 × min_qty when not set), `book_levels` per side.
Prices move with the mark, so a scenario scripts the spread and the depth exactly.
"""

from __future__ import annotations

from decimal import Decimal

from arbitrage.simulator.instruments import Instrument

Level = tuple[Decimal, Decimal]  # (price, quantity in order units)


def level_quantity(instrument: Instrument) -> Decimal:
    return instrument.book_level_qty if instrument.book_level_qty is not None else instrument.min_qty * 1000


def book(instrument: Instrument, depth: int) -> tuple[list[Level], list[Level]]:
    """(bids best first, asks best first), at most `depth` levels each."""
    count = max(0, min(depth, instrument.book_levels))
    tick, quantity = instrument.tick_size, level_quantity(instrument)
    bids: list[Level] = []
    asks: list[Level] = []
    for index in range(count):
        offset = (instrument.book_half_spread_ticks + index * instrument.book_step_ticks) * tick
        if instrument.mark_price - offset > 0:
            bids.append((instrument.mark_price - offset, quantity))
        asks.append((instrument.mark_price + offset, quantity))
    return bids, asks
