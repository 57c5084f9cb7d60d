"""Funding settlement: snapshot positions at the funding instant, pay after the settlement delay.

payment = −(signed base size) × mark × rate, so longs pay and shorts receive when the rate is positive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog

from arbitrage.simulator.accounts import Account, FundingPayment
from arbitrage.simulator.instruments import FundingRateRecord, Instrument
from arbitrage.simulator.venue import Venue

AMOUNT_QUANTUM = Decimal("1e-8")
log = structlog.get_logger(__name__)


@dataclass
class Settlement:
    """One funding instant of one symbol: the payments it produced and when they were (or will be) applied."""

    venue_id: str
    symbol: str
    funding_time: int
    due_time: int
    rate: Decimal
    mark_price: Decimal
    payments: list[tuple[Account, FundingPayment]] = field(default_factory=list)
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue_id,
            "symbol": self.symbol,
            "funding_time": self.funding_time,
            "due_time": self.due_time,
            "rate": str(self.rate),
            "mark_price": str(self.mark_price),
            "applied": self.applied,
            "payments": [payment.to_dict() for _, payment in self.payments],
        }

    @property
    def records(self) -> list[FundingPayment]:
        return [payment for _, payment in self.payments]


def snapshot(venue: Venue, instrument: Instrument, funding_time: int) -> Settlement:
    """Freeze every open position of ``instrument`` at ``funding_time`` (payments are applied later)."""
    delay_ms = int(round(instrument.settlement_delay_s * 1000))
    settlement = Settlement(
        venue_id=venue.id,
        symbol=instrument.symbol,
        funding_time=funding_time,
        due_time=funding_time + delay_ms,
        rate=instrument.funding_rate,
        mark_price=instrument.mark_price,
    )
    for account in venue.accounts.values():
        for position in account.open_positions(instrument.symbol):
            base_size = instrument.base_quantity(position.size)
            amount = (-base_size * instrument.mark_price * instrument.funding_rate).quantize(AMOUNT_QUANTUM)
            payment = FundingPayment(
                id=venue.next_id("funding"),
                symbol=instrument.symbol,
                position_side=position.position_side,
                amount=amount,
                rate=instrument.funding_rate,
                mark_price=instrument.mark_price,
                size=position.size,
                base_size=base_size,
                position_value=abs(base_size) * instrument.mark_price,
                funding_time=funding_time,
                paid_time=settlement.due_time,
                position_id=position.id,
            )
            settlement.payments.append((account, payment))
    instrument.funding_rate_history.append(
        FundingRateRecord(funding_time=funding_time, rate=instrument.funding_rate, mark_price=instrument.mark_price)
    )
    return settlement


def apply(settlement: Settlement) -> None:
    for account, payment in settlement.payments:
        account.balance += payment.amount
        account.funding_total += payment.amount
        account.funding_history.append(payment)
        account.update_time = max(account.update_time, payment.paid_time)
    settlement.applied = True


def due_snapshots(venue: Venue, now: int) -> list[Settlement]:
    """Snapshot every funding instant that has passed (catching up missed intervals one by one)."""
    settlements: list[Settlement] = []
    for instrument in venue.instruments.values():
        if not instrument.listed or instrument.next_funding_time <= 0 or instrument.funding_interval_s <= 0:
            continue
        while instrument.next_funding_time <= now:
            settlements.append(snapshot(venue, instrument, instrument.next_funding_time))
            instrument.next_funding_time += instrument.funding_interval_s * 1000
    return settlements


class FundingClock:
    """Background task that wakes exactly at the engine's next funding event (no polling).

    ``next_event`` returns the next due time in ms (or None); ``process`` settles whatever is due. Call
    :meth:`reschedule` whenever funding times change so the task recomputes its sleep.
    """

    def __init__(self, next_event: Callable[[], int | None], process: Callable[[], None], now: Callable[[], int]):
        self._next_event = next_event
        self._process = process
        self._now = now
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="simulator-funding-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def reschedule(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            failed = False
            try:
                self._process()
            except Exception:  # keep the task alive; requests still catch up lazily
                log.exception("simulator_funding_settlement_failed")
                failed = True
            due = self._next_event()
            timeout = None if due is None else max(0.0, (due - self._now()) / 1000)
            if failed:
                timeout = max(timeout or 0.0, 1.0)  # do not spin on a persistent failure
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
