"""The exchange-neutral simulator engine: venues (exchanges) with instruments, accounts, orders, positions, funding.

Dialects (``arbitrage.simulator.dialects.<exchange_id>``) translate HTTP requests into calls on :class:`Venue`
(``place_order``, ``set_leverage``, ``balance``...) and render the results in their exchange's wire format. Tests,
the admin API and scenarios configure state through the setters below (they also wake the funding clock).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import fields
from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Account, MarginMode
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.funding import FundingClock, Settlement, apply, due_snapshots
from arbitrage.simulator.instruments import Instrument, LeverageTier
from arbitrage.simulator.venue import Venue, VenueConfig

Clock = Callable[[], int]
MAX_SETTLEMENTS_KEPT = 10_000
Initializer = Callable[["Engine"], None]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value))


_DECIMAL_FIELDS = {
    f.name
    for f in fields(Instrument)
    if f.type in ("Decimal", "Decimal | None")  # annotations are strings (from __future__ import annotations)
}


class Engine:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or wall_clock_ms
        self.venues: dict[str, Venue] = {}
        self.settlements: deque[Settlement] = deque(maxlen=MAX_SETTLEMENTS_KEPT)  # recent snapshots, in order
        self._pending: list[Settlement] = []  # snapshotted, not yet paid (settlement delay)
        self._initializer: Initializer | None = None
        self._waiters: list[tuple[str, str, int, asyncio.Future[Settlement]]] = []
        self._funding_clock = FundingClock(self.next_event_time, self.process_due, self.now)

    # ----------------------------------------------------------------- time and lifecycle
    def now(self) -> int:
        return self.clock()

    def start(self) -> None:
        """Start the background funding task (needs a running event loop)."""
        self._funding_clock.start()

    async def stop(self) -> None:
        await self._funding_clock.stop()
        for *_, future in self._waiters:
            if not future.done():
                future.cancel()
        self._waiters.clear()

    def load(self, initializer: Initializer) -> None:
        """Replace all state by what ``initializer`` builds; :meth:`reset` re-runs it (relative times recomputed)."""
        self._initializer = initializer
        self.reset()

    def reset(self) -> None:
        self.venues.clear()
        self.settlements.clear()
        self._pending.clear()
        if self._initializer is not None:
            self._initializer(self)
        self._funding_clock.reschedule()

    # ----------------------------------------------------------------- venues, instruments, accounts
    def add_venue(self, config: VenueConfig | str) -> Venue:
        if isinstance(config, str):
            config = VenueConfig.for_exchange(config)
        venue = Venue(config, self.now)
        self.venues[venue.id] = venue
        return venue

    def venue(self, exchange_id: str) -> Venue:
        try:
            return self.venues[exchange_id]
        except KeyError:
            raise SimError(ErrorKind.UNKNOWN_VENUE, f"unknown exchange {exchange_id}") from None

    def add_instrument(self, exchange_id: str, instrument: Instrument) -> Instrument:
        self.venue(exchange_id).add_instrument(instrument)
        self._funding_clock.reschedule()
        return instrument

    def update_instrument(self, exchange_id: str, symbol: str, **changes: Any) -> Instrument:
        """Change any instrument field (``tiers`` as LeverageTier or dicts; decimals from str/int/float)."""
        instrument = self.venue(exchange_id).instrument(symbol)
        for name, value in changes.items():
            if not hasattr(instrument, name) or name == "symbol":
                raise ValueError(f"unknown instrument field {name!r}")
            if name == "tiers":
                value = sorted((tier_from_any(item) for item in value), key=lambda tier: tier.notional_floor)
            elif name in _DECIMAL_FIELDS and value is not None:
                value = to_decimal(value)
            setattr(instrument, name, value)
        self._funding_clock.reschedule()
        return instrument

    def set_mark_price(self, exchange_id: str, symbol: str, price: Any, index_price: Any = None) -> None:
        instrument = self.venue(exchange_id).instrument(symbol)
        instrument.mark_price = to_decimal(price)
        if index_price is not None:
            instrument.index_price = to_decimal(index_price)

    def set_funding(
        self,
        exchange_id: str,
        symbol: str,
        *,
        rate: Any = None,
        next_funding_time: int | None = None,
        next_funding_in_seconds: float | None = None,
        interval_s: int | None = None,
        delay_s: float | None = None,
        realign: bool = False,
    ) -> Instrument:
        """`realign`: a changed interval moves the next funding to the new interval's next UTC boundary when that
        comes sooner, as Bybit does when it moves a symbol to hourly settlement."""
        instrument = self.venue(exchange_id).instrument(symbol)
        if rate is not None:
            instrument.funding_rate = to_decimal(rate)
        if interval_s is not None:
            if int(interval_s) <= 0:
                raise ValueError("funding interval must be positive")
            changed = int(interval_s) != instrument.funding_interval_s
            instrument.funding_interval_s = int(interval_s)
            if realign and changed and next_funding_time is None and next_funding_in_seconds is None:
                interval_ms = instrument.funding_interval_s * 1000
                boundary = (self.now() // interval_ms + 1) * interval_ms
                instrument.next_funding_time = min(instrument.next_funding_time, boundary)
        if delay_s is not None:
            instrument.settlement_delay_s = float(delay_s)
        if next_funding_in_seconds is not None:  # on the exchange's own clock
            next_funding_time = self.venue(exchange_id).now() + int(round(float(next_funding_in_seconds) * 1000))
        if next_funding_time is not None:
            instrument.next_funding_time = int(next_funding_time)
        self._funding_clock.reschedule()
        return instrument

    def delist(self, exchange_id: str, symbol: str, listed: bool = False) -> None:
        self.venue(exchange_id).instrument(symbol).listed = listed
        self._funding_clock.reschedule()

    def add_account(
        self,
        exchange_id: str,
        api_key: str,
        secret: str,
        balance: Any = 0,
        *,
        hedge_mode: bool = False,
        name: str = "",
    ) -> Account:
        account = Account(api_key=api_key, secret=secret, balance=to_decimal(balance), hedge_mode=hedge_mode, name=name)
        return self.venue(exchange_id).add_account(account)

    def account(self, exchange_id: str, api_key: str | None = None) -> Account:
        venue = self.venue(exchange_id)
        return venue.account_by_key(api_key) if api_key is not None else venue.default_account()

    def set_balance(self, exchange_id: str, balance: Any, api_key: str | None = None) -> Account:
        account = self.account(exchange_id, api_key)
        account.balance = to_decimal(balance)
        account.update_time = self.now()
        return account

    def set_position_mode(self, exchange_id: str, hedge: bool, api_key: str | None = None, *, force: bool = True) -> None:
        self.venue(exchange_id).set_position_mode(self.account(exchange_id, api_key), hedge, force=force)

    def set_margin_mode(
        self, exchange_id: str, symbol: str | None, mode: MarginMode | str, api_key: str | None = None
    ) -> None:
        venue = self.venue(exchange_id)
        venue.set_margin_mode(self.account(exchange_id, api_key), symbol, MarginMode(str(mode).upper()), force=True)

    # ----------------------------------------------------------------- funding
    def set_clock_offset(self, exchange_id: str, offset_ms: int) -> None:
        """Run this exchange's clock `offset_ms` ahead of the engine's (negative: behind)."""
        self.venue(exchange_id).config.clock_offset_ms = int(offset_ms)
        self._funding_clock.reschedule()

    def next_event_time(self) -> int | None:
        """Earliest pending funding instant or delayed payment, on the engine's clock (ms), for the background task.
        Each exchange stamps and settles on its own clock."""
        candidates = [self.venue(settlement.venue_id).engine_time(settlement.due_time) for settlement in self._pending]
        for venue in self.venues.values():
            for instrument in venue.instruments.values():
                if instrument.listed and instrument.next_funding_time > 0 and instrument.funding_interval_s > 0:
                    candidates.append(venue.engine_time(instrument.next_funding_time))
        return min(candidates) if candidates else None

    def process_due(self) -> list[Settlement]:
        """Snapshot every passed funding instant and apply every payment whose delay has elapsed.

        Called by the background task and at the start of every request (lazy catch-up). Returns what was applied.
        """
        for venue in self.venues.values():
            snapshots = due_snapshots(venue, venue.now())
            self.settlements.extend(snapshots)
            self._pending.extend(snapshots)
        if not self._pending:
            return []
        applied = sorted(
            (settlement for settlement in self._pending if settlement.due_time <= self._venue_now(settlement.venue_id)),
            key=lambda settlement: self.venue(settlement.venue_id).engine_time(settlement.due_time),
        )
        for settlement in applied:
            apply(settlement)
        self._pending = [settlement for settlement in self._pending if not settlement.applied]
        if applied:
            self._resolve_waiters()
        return applied

    def _venue_now(self, exchange_id: str) -> int:
        venue = self.venues.get(exchange_id)
        return venue.now() if venue is not None else self.now()

    async def wait_for_settlement(
        self, exchange_id: str, symbol: str, funding_time: int | None = None, timeout: float = 10.0
    ) -> Settlement:
        """Wait until the settlement of ``funding_time`` is PAID (default: the earliest instant of that symbol not
        paid yet — a snapshot still in its settlement delay, else the next funding time).

        Returns at once if it already was. Raises TimeoutError after ``timeout`` seconds.
        """
        self.process_due()
        instrument = self.venue(exchange_id).instrument(symbol)
        target = funding_time
        if target is None:  # the earliest instant not paid yet: a delayed snapshot, else the next funding time
            pending = [s.funding_time for s in self._pending if s.venue_id == exchange_id and s.symbol == symbol]
            target = min(pending) if pending else instrument.next_funding_time
        done = self._find_applied(exchange_id, symbol, target)
        if done is not None:
            return done
        future: asyncio.Future[Settlement] = asyncio.get_running_loop().create_future()
        entry = (exchange_id, symbol, target, future)
        self._waiters.append(entry)
        self._funding_clock.reschedule()
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def _find_applied(self, exchange_id: str, symbol: str, target: int) -> Settlement | None:
        for settlement in self.settlements:
            if (
                settlement.applied
                and settlement.venue_id == exchange_id
                and settlement.symbol == symbol
                and settlement.funding_time >= target
            ):
                return settlement
        return None

    def _resolve_waiters(self) -> None:
        for exchange_id, symbol, target, future in list(self._waiters):
            if future.done():
                continue
            settlement = self._find_applied(exchange_id, symbol, target)
            if settlement is not None:
                future.set_result(settlement)

    # ----------------------------------------------------------------- dump
    def dump(self) -> dict[str, Any]:
        return {
            "time": self.now(),
            "venues": {exchange_id: venue.to_dict() for exchange_id, venue in self.venues.items()},
            "settlements": [settlement.to_dict() for settlement in self.settlements],
        }


def tier_from_any(value: LeverageTier | dict[str, Any] | list[Any] | tuple[Any, ...]) -> LeverageTier:
    """A tier from a LeverageTier, a dict (notional_floor/notional_cap/max_leverage/maint_margin_rate) or a 4-tuple."""
    if isinstance(value, LeverageTier):
        return value
    if isinstance(value, dict):
        return LeverageTier(
            notional_floor=to_decimal(value["notional_floor"]),
            notional_cap=to_decimal(value["notional_cap"]),
            max_leverage=int(value["max_leverage"]),
            maint_margin_rate=to_decimal(value["maint_margin_rate"]),
        )
    floor, cap, leverage, rate = value
    return LeverageTier(to_decimal(floor), to_decimal(cap), int(leverage), to_decimal(rate))
