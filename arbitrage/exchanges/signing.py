"""Orders signed with a short, explicit receive window, and the moment each one was signed.

An exchange executes a signed request only while its own clock is within the request's receive window of the
request's timestamp; after that it refuses it with its timestamp error. Orders therefore go out with a short
window (per exchange, `ARBITRAGE_EXCHANGES__<ID>__ORDER_RECV_WINDOW_MS`), never longer than the time left before
the instant the order must have executed by (an open's entry deadline), both read on the exchange's clock: the
timestamp is ccxt's `nonce()`, our clock corrected by the measured offset (`client_class.py`). Knowing the
timestamp and the window of an order whose answer was lost bounds when the exchange could still execute it: after
that, a lookup that finds nothing proves it never will.

The ccxt client classes get one `sign` override (ccxt signs after the request budget, right before the request is
written; see `client_class.py`), which only acts inside `order_window(...)`: the window is applied the way each exchange reads it and
the signing time is recorded. `sign` is synchronous, so the option swapped for Binance and Bybit cannot leak into
another request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from arbitrage.exchanges.connector import ErrorKind, ExchangeError

# Below this an order could hardly reach the exchange inside its window: it is not sent.
MIN_WINDOW_MS = 100


class WindowStyle(StrEnum):
    OPTION = "option"  # binance, bybit: ccxt reads options['recvWindow'] while signing (bybit signs it too)
    PARAM = "param"  # bingx: ccxt sends no window; a `recvWindow` query parameter, signed with the rest
    SECONDS_HEADER = "seconds_header"  # mexc contract: an unsigned `Recv-Window` header, in whole seconds


@dataclass
class OrderWindow:
    """One order request's window: what was asked for, and what signing applied."""

    window_ms: int
    execute_before_ms: int | None = None  # epoch ms on the EXCHANGE's clock; the window never reaches past it
    # Local epoch ms just after signing: not earlier than the request's timestamp less the offset it was given.
    signed_at_ms: int | None = None
    applied_ms: int | None = None
    written_at: float | None = None  # local epoch seconds when the signed request was handed to the connection


_CURRENT: ContextVar[OrderWindow | None] = ContextVar("arbitrage_order_window", default=None)


@contextmanager
def outside_order_window() -> Iterator[None]:
    """Requests made inside this block are not the order's (a clock measurement made while sending it)."""
    token = _CURRENT.set(None)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def order_window(window: OrderWindow) -> Iterator[OrderWindow]:
    """Requests signed inside this block (the order, in its own task) carry `window`."""
    token = _CURRENT.set(window)
    try:
        yield window
    finally:
        _CURRENT.reset(token)


def signing_an_order() -> bool:
    """True inside `order_window`: the requests being made are an order's."""
    return _CURRENT.get() is not None


def current_order_window() -> OrderWindow | None:
    return _CURRENT.get()


def too_late(exchange_id: str, left_ms: int) -> ExchangeError:
    return ExchangeError(
        exchange_id, "create_order",
        f"not sent: only {max(left_ms, 0)} ms were left before the order had to have executed",
        kind=ErrorKind.TOO_LATE,
    )


def windowed_sign(base: type[Any], style: WindowStyle, exchange_id: str) -> Any:
    """A `sign` for a subclass of `base` (a ccxt exchange class): requests signed inside `order_window` carry
    that window."""

    def sign(self: Any, path: Any, api: Any = "public", method: str = "GET", params: Any = None) -> Any:
        params = {} if params is None else params
        window = _CURRENT.get()
        if window is None:
            return base.sign(self, path, api, method, params)
        applied = window.window_ms
        if window.execute_before_ms is not None:  # the exchange's clock: the request's timestamp is on it
            applied = min(applied, window.execute_before_ms - int(self.nonce()))
        if style is WindowStyle.SECONDS_HEADER:
            applied = applied // 1000 * 1000
        if applied < max(MIN_WINDOW_MS, 1000 if style is WindowStyle.SECONDS_HEADER else 0):
            raise too_late(exchange_id, applied)
        if style is WindowStyle.OPTION:
            saved = self.options.get("recvWindow")
            self.options["recvWindow"] = applied
            try:
                request = base.sign(self, path, api, method, params)
            finally:
                self.options["recvWindow"] = saved
        elif style is WindowStyle.PARAM:
            request = base.sign(self, path, api, method, {**params, "recvWindow": applied})
        else:
            request = base.sign(self, path, api, method, params)
            if request.get("headers") and "Request-Time" in request["headers"]:
                request["headers"]["Recv-Window"] = str(applied // 1000)
        window.signed_at_ms = int(time.time() * 1000)
        window.applied_ms = applied
        return request

    return sign
