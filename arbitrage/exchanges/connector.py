"""Our small exchange interface and the neutral reports it returns.

Nothing outside `arbitrage/exchanges/` imports ccxt: services talk to `ExchangeConnector` and get these plain
value types back. Every quantity is in BASE units (MEXC's contracts are converted inside its connector), every
amount is a Decimal, every time is timezone-aware UTC.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from arbitrage.domain import OrderSide, Side



class PositionMode(StrEnum):
    ONE_WAY = "ONE_WAY"
    HEDGE = "HEDGE"


class OrderState(StrEnum):
    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    OPEN = "OPEN"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class MarketInfo:
    exchange: str
    symbol: str  # ccxt unified, e.g. BTC/USDT:USDT
    exchange_symbol: str  # the venue's id, e.g. BTCUSDT, BTC-USDT, BTC_USDT
    step_size: Decimal  # base units
    min_qty: Decimal  # base units
    min_notional: Decimal | None  # quote units
    tick_size: Decimal | None
    contract_size: Decimal  # base per contract (1 except MEXC)
    max_leverage: int | None
    active: bool
    funding_interval_hours: int | None = None


@dataclass(frozen=True)
class LeverageTierInfo:
    notional_floor: Decimal
    notional_cap: Decimal | None
    max_leverage: int
    maint_margin_rate: Decimal | None = None


@dataclass(frozen=True)
class FundingRateInfo:
    exchange: str
    symbol: str
    rate: Decimal
    next_funding_time: datetime | None
    mark_price: Decimal | None
    interval_hours: int | None = None


@dataclass(frozen=True)
class OrderBookTop:
    """The top levels of a book, best first: (price, amount in BASE units)."""

    exchange: str
    symbol: str
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


@dataclass(frozen=True)
class LeverageInfo:
    exchange: str
    symbol: str
    long: int | None
    short: int | None

    def matches(self, leverage: int) -> bool:
        return self.long == leverage and self.short == leverage


@dataclass(frozen=True)
class SentRequest:
    """An order request that left for the exchange: when it was signed (its timestamp, on our clock) and the
    moment, on our clock, after which the exchange can no longer execute it (timestamp + receive window + the
    exchange's clock offset and its uncertainty)."""

    signed_at: datetime
    executable_until: datetime
    written_at: datetime | None = None  # when it was handed to the connection, after the legs' send gate


@dataclass(frozen=True)
class OrderReport:
    exchange: str
    symbol: str
    client_order_id: str
    exchange_order_id: str | None
    state: OrderState
    side: OrderSide | None
    amount: Decimal | None  # requested, base units
    filled: Decimal  # base units
    average_price: Decimal | None
    fee: Decimal | None  # positive = paid
    fee_currency: str | None
    raw_status: str | None = None
    executed_at: datetime | None = None  # the exchange's time of the (last) fill
    request: SentRequest | None = None  # set on the report of the create call that sent it


@dataclass(frozen=True)
class PositionReport:
    exchange: str
    symbol: str
    side: Side
    amount: Decimal  # base units, always positive
    entry_price: Decimal | None
    leverage: int | None = None


@dataclass(frozen=True)
class FundingPaymentReport:
    exchange: str
    symbol: str
    amount: Decimal  # + received, - paid, whatever the exchange's own convention
    paid_at: datetime
    payment_id: str
    currency: str | None = "USDT"


@dataclass(frozen=True)
class FundingPaymentBatch:
    """Every symbol's payments since a time, from one request. `complete` is False when the page was full: some
    payments may be missing from it (ask per symbol for those)."""

    payments: list[FundingPaymentReport]
    complete: bool


@dataclass(frozen=True)
class BalanceReport:
    exchange: str
    currency: str
    free: Decimal
    total: Decimal | None


@dataclass(frozen=True)
class ClockOffset:
    offset_ms: float  # the exchange's clock minus ours
    uncertainty_ms: float  # half the round trip of the sample it came from
    measured_at: datetime | None = None  # our clock

    @property
    def bound_ms(self) -> float:
        """How much later (our clock) than timestamp + window an order may still execute. Signed timestamps are
        corrected by the offset, which leaves the uncertainty; the offset is kept in as a margin for a clock that
        moved back since it was measured."""
        return abs(self.offset_ms) + self.uncertainty_ms


class ErrorKind(StrEnum):
    """What went wrong talking to an exchange, whatever the exchange's own code for it."""

    ORDER_NOT_FOUND = "order_not_found"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    AUTH = "auth"
    UNKNOWN_SYMBOL = "unknown_symbol"
    INVALID_ORDER = "invalid_order"
    INVALID_AMOUNT = "invalid_amount"
    NOT_MODIFIED = "not_modified"
    NOT_SUPPORTED = "not_supported"
    BAD_REQUEST = "bad_request"
    LEVERAGE = "leverage"  # above the maximum at this notional
    LEVERAGE_MISMATCH = "leverage_mismatch"  # read back different from what was set
    POSITION_OPEN = "position_open"
    # Refused before processing: nothing was executed.
    MAINTENANCE = "maintenance"
    RATE_LIMITED = "rate_limited"
    CLOCK = "clock"  # the request's timestamp was outside the exchange's window
    # No usable answer: an order may or may not have been executed.
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    NETWORK = "network"
    EXCHANGE_FAILURE = "exchange_failure"
    REJECTED = "rejected"
    UNEXPECTED = "unexpected"
    # Our side, before anything was sent.
    TOO_LATE = "too_late"  # no time left for the order to execute before its deadline
    NOT_CONFIGURED = "not_configured"
    MARKETS_NOT_LOADED = "markets_not_loaded"


# Refusals of a request the exchange did not process: the same order may be sent again (with a new client id).
REFUSED_UNPROCESSED = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.CLOCK, ErrorKind.MAINTENANCE})


class ExchangeError(Exception):
    """A failure talking to one exchange, already classified.

    `retryable` is True only where repeating the same request is safe (network trouble, timeouts, 5xx, rate
    limits). `outcome_unknown` is True where the request may have been executed (a timeout after sending):
    an order must then be looked up by its client order id before anything is re-sent.
    """

    def __init__(
        self,
        exchange: str,
        operation: str,
        reason: str,
        *,
        retryable: bool = False,
        outcome_unknown: bool = False,
        kind: ErrorKind = ErrorKind.REJECTED,
        hint: str | None = None,
        exchange_order_id: str | None = None,
        request: SentRequest | None = None,
    ) -> None:
        self.exchange = exchange
        # For a failed order: the request that left (None: the order was never sent, nothing can execute).
        self.request = request
        # Set when the exchange acknowledged an order (returned its id) before the failure: it exists there.
        self.exchange_order_id = exchange_order_id
        self.operation = operation
        self.reason = reason
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown
        self.kind = ErrorKind(kind)
        self.hint = hint
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        message = f"{self.exchange}: {self.reason}"
        return f"{message}; {self.hint}" if self.hint else message


class OrderNotFound(ExchangeError):
    def __init__(self, exchange: str, operation: str, reason: str) -> None:
        super().__init__(exchange, operation, reason, kind=ErrorKind.ORDER_NOT_FOUND)


class ExchangeConnector(Protocol):
    """One exchange account. One instance per account, shared by every subscription."""

    exchange_id: str
    # The last measured offset of the exchange's clock (None until one measurement succeeded). Signed requests
    # carry timestamps corrected by it.
    clock_offset: ClockOffset | None
    # How long the last request that opened a connection took to be answered (handshake and round trip; None
    # until one did): a warm-up before the trigger must be done by then.
    new_connection_seconds: float | None

    async def load_markets(self, reload: bool = False) -> None: ...

    def market(self, symbol: str) -> MarketInfo:
        """Cached market rules (after load_markets); raises ExchangeError(kind='unknown_symbol')."""

    def markets(self) -> list[MarketInfo]:
        """Every USDT-margined linear perpetual the exchange lists (after load_markets)."""

    @property
    def markets_loaded(self) -> bool:
        """True once markets are loaded; costs nothing (health checks ask it every few seconds)."""

    async def position_mode(self) -> PositionMode:
        """Read the account's position mode from the exchange (and remember it)."""

    async def known_position_mode(self) -> PositionMode:
        """The mode read at start (read again after a rejection that may mean it changed)."""

    async def leverage_tiers(self, symbol: str) -> list[LeverageTierInfo]: ...

    async def all_leverage_tiers(self) -> dict[str, list[LeverageTierInfo]]:
        """Tiers of every listed market, as cheaply as the venue allows (one bulk call, paged calls, or none)."""

    async def funding_intervals(self) -> dict[str, int]:
        """Funding interval in hours per symbol, where the venue tells it without a request per symbol."""

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the same leverage for both sides, with this exchange's required parameters."""

    async def fetch_leverage(self, symbol: str) -> LeverageInfo: ...

    async def fetch_funding_rate(self, symbol: str) -> FundingRateInfo: ...

    async def fetch_funding_rates(self) -> dict[str, FundingRateInfo]:
        """Every listed USDT perpetual's current rate in ONE request, with the next funding time and interval where
        that answer carries them (MEXC's carries neither: both None)."""

    async def fetch_order_book(self, symbol: str, limit: int) -> OrderBookTop:
        """The top `limit` levels per side (the venue's nearest accepted depth at or above it)."""

    def taker_fee_rate(self, symbol: str) -> Decimal | None:
        """The configured TAKER_FEE, else the market's taker rate from the exchange (after load_markets)."""

    async def create_market_order(
        self,
        symbol: str,
        side: OrderSide,
        amount: Decimal,
        client_order_id: str,
        *,
        reduce_only: bool = False,
        position_side: Side | None = None,
        execute_before: datetime | None = None,
    ) -> OrderReport:
        """Send one market order (amount in base units) with this exchange's order receive window, never reaching
        past `execute_before` (an instant on the exchange's clock, e.g. its entry cutoff). Never retried blindly
        (only once more when the exchange refused its timestamp, which it did not process): on an unknown outcome
        it raises ExchangeError(outcome_unknown=True) carrying the `SentRequest`, and the caller looks the order up
        by client id. An error without `request` means the order was never sent."""

    def executable_until(self, signed_by: datetime, execute_before: datetime | None = None) -> datetime:
        """The latest moment (our clock) an order signed at or before `signed_by` (and sent with
        `execute_before`, as opens are) could still execute."""

    async def warm_up(self, until: datetime) -> None:
        """Make sure of one open connection for one of the orders that go at `until` (held till then)."""

    async def measure_clock_offset(self) -> ClockOffset:
        """The exchange's clock minus ours, from its server-time endpoint (the best of a few round trips; half the
        round trip is the error). Kept in `clock_offset`; signed requests use it from then on."""

    async def fetch_order(
        self, symbol: str, client_order_id: str, exchange_order_id: str | None = None
    ) -> OrderReport:
        """Look an order up (by exchange id when known, else by client id); OrderNotFound if it never arrived."""

    async def fetch_positions(self, symbol: str) -> list[PositionReport]:
        """Open (non-zero) positions in `symbol`."""

    async def fetch_all_positions(self) -> list[PositionReport]:
        """Every open (non-zero) position of the account, in USDT perpetuals."""

    async def fetch_funding_payments(self, symbol: str, since: datetime) -> list[FundingPaymentReport]: ...

    async def fetch_all_funding_payments(self, since: datetime) -> FundingPaymentBatch: ...

    async def fetch_balance(self, currency: str = "USDT") -> BalanceReport: ...

    async def close(self) -> None: ...


@dataclass
class ConnectorRegistry:
    """The connectors of the configured exchanges, keyed by exchange id."""

    connectors: dict[str, ExchangeConnector] = field(default_factory=dict)

    def get(self, exchange_id: str) -> ExchangeConnector:
        try:
            return self.connectors[exchange_id]
        except KeyError:
            configured = ", ".join(sorted(self.connectors)) or "none"
            raise ExchangeError(
                exchange_id,
                "connect",
                "exchange is not configured",
                kind=ErrorKind.NOT_CONFIGURED,
                hint=f"set ARBITRAGE_EXCHANGES__{exchange_id.upper()}__API_KEY and __SECRET (configured: {configured})",
            ) from None

    async def close(self) -> None:
        await asyncio.gather(*(connector.close() for connector in self.connectors.values()))
