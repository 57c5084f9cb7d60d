"""Exchange-neutral error kinds raised by the simulator engine.

The engine only knows *what* went wrong (an :class:`ErrorKind`); each dialect maps a kind to its exchange's own
error code, message and HTTP status, so one engine rule produces e.g. Binance ``-2019`` and Bybit ``110007``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    # symbols / instruments
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SYMBOL_DELISTED = "SYMBOL_DELISTED"
    # order parameters
    ORDER_TYPE_UNSUPPORTED = "ORDER_TYPE_UNSUPPORTED"
    INVALID_QUANTITY = "INVALID_QUANTITY"  # zero, negative or not a number
    QUANTITY_STEP = "QUANTITY_STEP"  # not a multiple of the step size
    QUANTITY_BELOW_MIN = "QUANTITY_BELOW_MIN"
    QUANTITY_ABOVE_MAX = "QUANTITY_ABOVE_MAX"
    NOTIONAL_BELOW_MIN = "NOTIONAL_BELOW_MIN"
    INVALID_PRICE = "INVALID_PRICE"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    INVALID_CLIENT_ORDER_ID = "INVALID_CLIENT_ORDER_ID"
    POSITION_SIDE_MISMATCH = "POSITION_SIDE_MISMATCH"  # hedge needs LONG/SHORT, one-way needs BOTH
    REDUCE_ONLY_REJECTED = "REDUCE_ONLY_REJECTED"  # would increase or flip the position
    NO_POSITION = "NO_POSITION"  # reduce-only / close with nothing to close
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    POSITION_EXCEEDS_LEVERAGE_TIER = "POSITION_EXCEEDS_LEVERAGE_TIER"  # resulting notional too big for leverage
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    # leverage / modes
    LEVERAGE_OUT_OF_RANGE = "LEVERAGE_OUT_OF_RANGE"
    LEVERAGE_NOT_MODIFIED = "LEVERAGE_NOT_MODIFIED"  # the engine never raises it; Bybit's dialect does (110043)
    LEVERAGE_POSITION_OPEN = "LEVERAGE_POSITION_OPEN"  # venue refuses leverage changes with an open position
    POSITION_MODE_NOT_MODIFIED = "POSITION_MODE_NOT_MODIFIED"
    POSITION_MODE_POSITION_OPEN = "POSITION_MODE_POSITION_OPEN"
    MARGIN_MODE_NOT_MODIFIED = "MARGIN_MODE_NOT_MODIFIED"
    MARGIN_MODE_POSITION_OPEN = "MARGIN_MODE_POSITION_OPEN"
    # request-level (raised by dialects; also injectable as faults)
    MISSING_PARAMETER = "MISSING_PARAMETER"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    AUTH_MISSING_KEY = "AUTH_MISSING_KEY"
    AUTH_INVALID_KEY = "AUTH_INVALID_KEY"
    AUTH_BAD_SIGNATURE = "AUTH_BAD_SIGNATURE"
    AUTH_TIMESTAMP = "AUTH_TIMESTAMP"
    UNKNOWN_ENDPOINT = "UNKNOWN_ENDPOINT"
    RATE_LIMITED = "RATE_LIMITED"  # too many requests (or too much request weight)
    ORDER_RATE_LIMITED = "ORDER_RATE_LIMITED"  # too many new orders (Binance -1015)
    IP_RATE_LIMITED = "IP_RATE_LIMITED"  # the per-IP budget is spent (Bybit answers HTTP 403)
    INTERNAL_ERROR = "INTERNAL_ERROR"
    MAINTENANCE = "MAINTENANCE"
    UNKNOWN_VENUE = "UNKNOWN_VENUE"


class SimError(Exception):
    """A request the simulated exchange rejects. ``details`` carries values a dialect may put in its message."""

    def __init__(self, kind: ErrorKind, message: str, **details: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"SimError({self.kind.value}, {self.message!r})"
