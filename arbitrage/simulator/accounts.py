"""Accounts of one simulated venue and the records they own: orders, fills, positions, funding payments."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

ZERO = Decimal(0)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class PositionSide(StrEnum):
    BOTH = "BOTH"  # one-way mode: one net position per symbol
    LONG = "LONG"
    SHORT = "SHORT"


class MarginMode(StrEnum):
    CROSS = "CROSS"
    ISOLATED = "ISOLATED"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class OrderStatus(StrEnum):
    FILLED = "FILLED"
    # A market order that met too little liquidity: the unfilled remainder was cancelled by the exchange.
    # ``executed_qty`` < ``quantity`` (possibly 0). Dialects render it the way their exchange reports it.
    EXPIRED = "EXPIRED"


@dataclass
class OrderRequest:
    """A neutral order as decoded by a dialect. ``quantity`` is in the venue's order unit (contracts on MEXC)."""

    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    reduce_only: bool = False
    position_side: PositionSide | None = None  # None → BOTH (one-way); hedge mode requires LONG/SHORT
    client_order_id: str | None = None
    price: Decimal | None = None
    max_fill_quantity: Decimal | None = None  # thin book: fill at most this much (rounded down to the step)


@dataclass
class Order:
    id: str
    symbol: str
    side: Side
    order_type: OrderType
    position_side: PositionSide
    quantity: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    cum_quote: Decimal  # executed_qty × contract_size × avg_price
    fee: Decimal
    realized_pnl: Decimal
    reduce_only: bool
    status: OrderStatus
    client_order_id: str | None
    create_time: int
    update_time: int
    leverage: int
    price: Decimal | None = None
    indexed_at: int = 0  # lookups find the order from this instant (ms) on: an order index that lags

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    def indexed(self, now_ms: int) -> bool:
        return now_ms >= self.indexed_at


@dataclass
class Fill:
    id: str
    order_id: str
    symbol: str
    side: Side
    position_side: PositionSide
    price: Decimal
    quantity: Decimal
    quote_qty: Decimal
    fee: Decimal
    fee_rate: Decimal
    realized_pnl: Decimal
    time: int
    client_order_id: str | None = None
    maker: bool = False

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class Position:
    """``size`` is signed, in order units: > 0 long, < 0 short (hedge LONG rows are > 0, SHORT rows < 0)."""

    id: str
    symbol: str
    position_side: PositionSide
    size: Decimal
    entry_price: Decimal
    realized_pnl: Decimal = ZERO
    open_time: int = 0
    update_time: int = 0

    @property
    def is_long(self) -> bool:
        return self.size > 0

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class FundingPayment:
    """One funding settlement of one position. ``amount`` > 0 received, < 0 paid. ``size`` is signed base."""

    id: str
    symbol: str
    position_side: PositionSide
    amount: Decimal
    rate: Decimal
    mark_price: Decimal
    size: Decimal  # signed, order units
    base_size: Decimal  # signed, base currency
    position_value: Decimal  # |base_size| × mark
    funding_time: int  # the funding instant (positions were snapshotted then)
    paid_time: int  # when the balance changed (funding_time + settlement delay)
    position_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class Account:
    api_key: str
    secret: str
    balance: Decimal  # USDT wallet balance (deposits + realized PnL − fees + funding)
    hedge_mode: bool = False
    name: str = ""
    uid: str = ""
    create_time: int = 0
    update_time: int = 0
    margin_modes: dict[str, MarginMode] = field(default_factory=dict)  # symbol → mode; absent = default
    default_margin_mode: MarginMode = MarginMode.CROSS
    leverage: dict[str, dict[PositionSide, int]] = field(default_factory=dict)  # symbol → {LONG: n, SHORT: n}
    positions: dict[tuple[str, PositionSide], Position] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    orders_by_id: dict[str, Order] = field(default_factory=dict)
    orders_by_client_id: dict[str, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    funding_history: list[FundingPayment] = field(default_factory=list)
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    funding_total: Decimal = ZERO

    def margin_mode(self, symbol: str) -> MarginMode:
        return self.margin_modes.get(symbol, self.default_margin_mode)

    def open_positions(self, symbol: str | None = None) -> list[Position]:
        return [
            position
            for position in self.positions.values()
            if position.size != 0 and (symbol is None or position.symbol == symbol)
        ]

    def position(self, symbol: str, position_side: PositionSide) -> Position | None:
        position = self.positions.get((symbol, position_side))
        return position if position is not None and position.size != 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "api_key_hint": mask_key(self.api_key),
            "name": self.name,
            "uid": self.uid,
            "balance": str(self.balance),
            "hedge_mode": self.hedge_mode,
            "default_margin_mode": self.default_margin_mode.value,
            "margin_modes": {symbol: mode.value for symbol, mode in self.margin_modes.items()},
            "leverage": {
                symbol: {side.value: value for side, value in sides.items()} for symbol, sides in self.leverage.items()
            },
            "positions": [position.to_dict() for position in self.open_positions()],
            "orders": [order.to_dict() for order in self.orders],
            "fills": [fill.to_dict() for fill in self.fills],
            "funding_history": [payment.to_dict() for payment in self.funding_history],
            "realized_pnl": str(self.realized_pnl),
            "fees_paid": str(self.fees_paid),
            "funding_total": str(self.funding_total),
        }


def mask_key(api_key: str) -> str:
    """Enough of a key to tell accounts apart in dumps and logs, never the whole key."""
    return api_key[:6] + "…" if len(api_key) > 8 else "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value
