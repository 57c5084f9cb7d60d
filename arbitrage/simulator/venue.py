"""One simulated exchange (venue): its instruments, accounts, id counters, leverage and mode rules, margin views.

Order execution (:func:`arbitrage.simulator.trading.execute_order`, which takes a venue) lives in
:mod:`arbitrage.simulator.trading`, funding settlement in :mod:`arbitrage.simulator.funding`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import (
    Account,
    MarginMode,
    Order,
    Position,
    PositionSide,
)
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.rate_limits import RateLimitConfig, rate_limit_config

ZERO = Decimal(0)

# Real-venue behaviour that is not a wire format (so it lives here, not in a dialect). Scenario settings override.
KNOWN_VENUE_DEFAULTS: dict[str, dict[str, Any]] = {
    "binanceusdm": {"id_style": "numeric", "id_starts": {"order": 4000000000, "trade": 698000, "funding": 9689322000}},
    "bybit": {"id_style": "uuid", "id_starts": {"trade": 1, "funding": 1}},
    "bingx": {
        "id_style": "numeric",
        "id_starts": {"order": 1736012449498000000, "trade": 1736012449499000000, "funding": 1736012449500000000},
        "refuse_leverage_change_with_position": True,
    },
    "mexc": {
        "id_style": "numeric",
        "id_starts": {"order": 739113577038000000, "trade": 739113577039000000, "funding": 1000000},
    },
}
DEFAULT_ID_STARTS = {"order": 1000000, "trade": 1000000, "funding": 1000000, "position": 1000}


@dataclass
class VenueConfig:
    exchange_id: str
    id_style: str = "numeric"  # "numeric" (counter strings) or "uuid" (deterministic UUID-4 from the counter)
    id_starts: dict[str, int] = field(default_factory=dict)
    refuse_leverage_change_with_position: bool = False  # BingX: no leverage change with an open position
    slippage_bps: Decimal = ZERO  # market fills at mark × (1 ± bps/10 000), rounded to tick
    options: dict[str, Any] = field(default_factory=dict)  # dialect knobs (e.g. recv windows)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    new_connection_delay_ms: int = 0  # a new TCP connection's first request waits until it is this old (TLS handshake)
    # This exchange's clock minus the engine's (ms): it checks request timestamps, stamps its answers and settles
    # funding on its own clock, as a real exchange whose clock differs from the client host's.
    clock_offset_ms: int = 0

    @classmethod
    def for_exchange(cls, exchange_id: str, **overrides: Any) -> VenueConfig:
        settings: dict[str, Any] = {**KNOWN_VENUE_DEFAULTS.get(exchange_id, {})}
        id_starts = {**DEFAULT_ID_STARTS, **settings.pop("id_starts", {}), **overrides.pop("id_starts", {})}
        settings.update(overrides)
        if "slippage_bps" in settings:
            settings["slippage_bps"] = Decimal(str(settings["slippage_bps"]))
        settings["rate_limits"] = rate_limit_config(exchange_id, settings.get("rate_limits"))
        delay = int(settings.get("new_connection_delay_ms", 0))
        if delay < 0:
            raise ValueError("new_connection_delay_ms must be >= 0")
        settings["new_connection_delay_ms"] = delay
        settings["clock_offset_ms"] = int(settings.get("clock_offset_ms", 0))
        return cls(exchange_id=exchange_id, id_starts=id_starts, **settings)


@dataclass(frozen=True)
class LeverageChange:
    symbol: str
    long: int
    short: int
    changed: bool
    max_leverage: int


@dataclass(frozen=True)
class PositionView:
    """A position with everything derived from the current mark price."""

    position: Position
    mark_price: Decimal
    base_size: Decimal  # signed
    notional: Decimal  # signed, base_size × mark
    unrealized_pnl: Decimal
    leverage: int
    initial_margin: Decimal
    maint_margin: Decimal
    maint_margin_rate: Decimal
    margin_mode: MarginMode
    liquidation_price: Decimal


@dataclass(frozen=True)
class BalanceView:
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal  # wallet + unrealized
    position_initial_margin: Decimal
    maint_margin: Decimal
    available: Decimal  # margin balance − initial margin (never negative)


class Venue:
    def __init__(self, config: VenueConfig, clock: Callable[[], int]) -> None:
        self.config = config
        self.id = config.exchange_id
        self.clock = clock
        self.instruments: dict[str, Instrument] = {}
        self.accounts: dict[str, Account] = {}
        self._counters: dict[str, int] = {}

    # ----------------------------------------------------------------- lookups
    def now(self) -> int:
        """This exchange's clock (ms): the engine's plus its offset."""
        return self.clock() + self.config.clock_offset_ms

    def engine_time(self, venue_ms: int) -> int:
        """The engine-clock instant at which this exchange's clock shows `venue_ms`."""
        return venue_ms - self.config.clock_offset_ms

    def add_instrument(self, instrument: Instrument) -> Instrument:
        self.instruments[instrument.symbol] = instrument
        return instrument

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise SimError(ErrorKind.UNKNOWN_SYMBOL, f"unknown symbol {symbol} on {self.id}", symbol=symbol) from None

    def find_instrument(self, predicate: Callable[[Instrument], bool]) -> Instrument | None:
        return next((inst for inst in self.instruments.values() if predicate(inst)), None)

    def add_account(self, account: Account) -> Account:
        if not account.create_time:
            account.create_time = account.update_time = self.now()
        if not account.uid:
            account.uid = str(10000000 + len(self.accounts) + 1)
        self.accounts[account.api_key] = account
        return account

    def account_by_key(self, api_key: str | None) -> Account:
        account = self.accounts.get(api_key or "")
        if account is None:
            raise SimError(ErrorKind.AUTH_INVALID_KEY, "invalid API key")
        return account

    def default_account(self) -> Account:
        if not self.accounts:
            raise SimError(ErrorKind.AUTH_INVALID_KEY, f"{self.id} has no account")
        return next(iter(self.accounts.values()))

    def next_id(self, kind: str) -> str:
        """Deterministic ids per kind ("order", "trade", "funding", "position", ...), in the venue's style."""
        count = self._counters.get(kind, 0) + 1
        self._counters[kind] = count
        number = self.config.id_starts.get(kind, DEFAULT_ID_STARTS.get(kind, 1)) + count
        if self.config.id_style == "uuid":
            digest = hashlib.sha256(f"{self.id}:{kind}:{number}".encode()).digest()[:16]
            return str(uuid.UUID(bytes=digest, version=4))
        return str(number)

    # ----------------------------------------------------------------- leverage and modes
    def leverage(self, account: Account, symbol: str) -> dict[PositionSide, int]:
        instrument = self.instrument(symbol)
        if symbol not in account.leverage:
            default = max(instrument.min_leverage, min(instrument.default_leverage, instrument.max_leverage))
            account.leverage[symbol] = {PositionSide.LONG: default, PositionSide.SHORT: default}
        return account.leverage[symbol]

    def leverage_for(self, account: Account, symbol: str, position_side: PositionSide, long: bool) -> int:
        sides = self.leverage(account, symbol)
        if position_side is PositionSide.BOTH:
            return sides[PositionSide.LONG if long else PositionSide.SHORT]
        return sides[position_side]

    def set_leverage(
        self, account: Account, symbol: str, leverage: int, side: PositionSide | None = None
    ) -> LeverageChange:
        """Set leverage for one side (hedge mode) or both. One-way accounts always keep both sides equal."""
        instrument = self.instrument(symbol)
        current = self.leverage(account, symbol)
        sides = [PositionSide.LONG, PositionSide.SHORT]
        if account.hedge_mode and side in (PositionSide.LONG, PositionSide.SHORT):
            sides = [side]
        max_allowed = instrument.max_leverage
        for target_side in sides:
            max_allowed = min(max_allowed, self._max_leverage_for_side(account, instrument, target_side))
        if leverage < instrument.min_leverage or leverage > max_allowed:
            raise SimError(
                ErrorKind.LEVERAGE_OUT_OF_RANGE,
                f"leverage {leverage} is not valid for {symbol}: allowed {instrument.min_leverage}..{max_allowed}",
                leverage=leverage,
                max_leverage=max_allowed,
                min_leverage=instrument.min_leverage,
            )
        changed = any(current[target_side] != leverage for target_side in sides)
        if changed and self.config.refuse_leverage_change_with_position and account.open_positions(symbol):
            raise SimError(
                ErrorKind.LEVERAGE_POSITION_OPEN,
                f"cannot change leverage of {symbol} while a position is open",
                symbol=symbol,
            )
        for target_side in sides:
            current[target_side] = leverage
        if changed:
            account.update_time = self.now()
        return LeverageChange(
            symbol, current[PositionSide.LONG], current[PositionSide.SHORT], changed, instrument.max_leverage
        )

    def _max_leverage_for_side(self, account: Account, instrument: Instrument, side: PositionSide) -> int:
        """Tier max for the current position notional on that side (overall max when flat)."""
        if account.hedge_mode:
            position = account.position(instrument.symbol, side)
        else:
            position = account.position(instrument.symbol, PositionSide.BOTH)
        if position is None:
            return instrument.max_leverage
        notional = instrument.base_quantity(abs(position.size)) * instrument.mark_price
        return instrument.max_leverage_at(notional)

    def set_position_mode(self, account: Account, hedge: bool, *, force: bool = False) -> None:
        if not force:
            if account.hedge_mode == hedge:
                raise SimError(ErrorKind.POSITION_MODE_NOT_MODIFIED, "position mode is already set")
            if account.open_positions():
                raise SimError(
                    ErrorKind.POSITION_MODE_POSITION_OPEN, "position mode cannot be changed while positions are open"
                )
        account.hedge_mode = hedge
        account.update_time = self.now()

    def set_margin_mode(self, account: Account, symbol: str | None, mode: MarginMode, *, force: bool = False) -> None:
        """Per symbol, or account-wide (every symbol) when ``symbol`` is None (Bybit UTA)."""
        symbols = [symbol] if symbol is not None else list(self.instruments)
        if symbol is not None:
            self.instrument(symbol)
        if not force:
            if all(account.margin_mode(item) is mode for item in symbols):
                raise SimError(ErrorKind.MARGIN_MODE_NOT_MODIFIED, "margin mode is already set")
            if any(account.open_positions(item) for item in symbols):
                raise SimError(
                    ErrorKind.MARGIN_MODE_POSITION_OPEN, "margin mode cannot be changed while a position is open"
                )
        if symbol is None:
            account.default_margin_mode = mode
            account.margin_modes.clear()
        else:
            account.margin_modes[symbol] = mode
        account.update_time = self.now()

    # ----------------------------------------------------------------- orders
    def get_order(
        self, account: Account, symbol: str | None = None, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        order = None
        if order_id is not None:
            order = account.orders_by_id.get(str(order_id))
        elif client_order_id is not None:
            order = account.orders_by_client_id.get(client_order_id)
        if order is None or (symbol is not None and order.symbol != symbol) or not order.indexed(self.now()):
            raise SimError(ErrorKind.ORDER_NOT_FOUND, "order does not exist")
        return order

    # ----------------------------------------------------------------- margin views
    def position_view(self, account: Account, position: Position) -> PositionView:
        instrument = self.instrument(position.symbol)
        mark = instrument.mark_price
        base_size = instrument.base_quantity(position.size)
        notional = base_size * mark
        unrealized = (mark - position.entry_price) * base_size
        leverage = self.leverage_for(account, position.symbol, position.position_side, position.size > 0)
        tier = instrument.tier_for_notional(notional) or instrument.tiers[-1]
        cum = instrument.cumulative_maintenance()[instrument.tiers.index(tier)]
        maint = max(ZERO, abs(notional) * tier.maint_margin_rate - cum)
        initial = abs(notional) / Decimal(leverage)
        move = Decimal(1) / Decimal(leverage) - tier.maint_margin_rate
        liquidation = position.entry_price * (Decimal(1) - move if position.size > 0 else Decimal(1) + move)
        return PositionView(
            position=position,
            mark_price=mark,
            base_size=base_size,
            notional=notional,
            unrealized_pnl=unrealized,
            leverage=leverage,
            initial_margin=initial,
            maint_margin=maint,
            maint_margin_rate=tier.maint_margin_rate,
            margin_mode=account.margin_mode(position.symbol),
            liquidation_price=max(ZERO, liquidation),
        )

    def position_views(self, account: Account, symbol: str | None = None) -> list[PositionView]:
        return [self.position_view(account, position) for position in account.open_positions(symbol)]

    def balance(self, account: Account) -> BalanceView:
        views = self.position_views(account)
        unrealized = sum((view.unrealized_pnl for view in views), ZERO)
        initial = sum((view.initial_margin for view in views), ZERO)
        maint = sum((view.maint_margin for view in views), ZERO)
        margin_balance = account.balance + unrealized
        return BalanceView(
            wallet_balance=account.balance,
            unrealized_pnl=unrealized,
            margin_balance=margin_balance,
            position_initial_margin=initial,
            maint_margin=maint,
            available=max(ZERO, margin_balance - initial),
        )

    # ----------------------------------------------------------------- dump
    def to_dict(self) -> dict[str, Any]:
        return {
            "exchange_id": self.id,
            "settings": {
                "id_style": self.config.id_style,
                "refuse_leverage_change_with_position": self.config.refuse_leverage_change_with_position,
                "slippage_bps": str(self.config.slippage_bps),
                "options": self.config.options,
                "rate_limits": self.config.rate_limits.to_dict(),
                "new_connection_delay_ms": self.config.new_connection_delay_ms,
                "clock_offset_ms": self.config.clock_offset_ms,
            },
            "instruments": {symbol: inst.to_dict() for symbol, inst in self.instruments.items()},
            "accounts": [self.account_dict(account) for account in self.accounts.values()],
        }

    def account_dict(self, account: Account) -> dict[str, Any]:
        data = account.to_dict()
        balance = self.balance(account)
        data["margin"] = {
            "wallet_balance": str(balance.wallet_balance),
            "unrealized_pnl": str(balance.unrealized_pnl),
            "margin_balance": str(balance.margin_balance),
            "position_initial_margin": str(balance.position_initial_margin),
            "available": str(balance.available),
        }
        return data
