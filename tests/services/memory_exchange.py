"""An in-memory implementation of our own `ExchangeConnector` protocol, for fast table tests of the pipeline's steps.

Not a ccxt mock: it plays an exchange account behind our interface. Each order request takes the next scripted
`Act` (default: fill), which decides whether it executes and what the caller hears. Positions follow the orders
that executed; lookups by client order id see them (unless the script hides them).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from arbitrage.domain import OrderSide, Side
from arbitrage.exchanges.connector import (
    ClockOffset,
    ErrorKind,
    ExchangeError,
    OrderNotFound,
    OrderReport,
    OrderState,
    PositionReport,
    SentRequest,
)
from arbitrage.services.clock import utcnow

WINDOW = timedelta(milliseconds=50)
PRICE = Decimal("60000")
FEE_RATE = Decimal("0.0005")


class Act(StrEnum):
    FILL = "fill"
    REJECT = "reject"  # refused: insufficient margin
    RATE_LIMITED = "rate_limited"  # refused before processing
    LOST_EXECUTED = "lost_executed"  # executed, the answer is lost
    LOST_UNSENT = "lost_unsent"  # never arrived, the connection failed
    HALF = "half"  # executes half (a thin book), the rest expires


@dataclass
class _Executed:
    client_order_id: str
    side: OrderSide
    amount: Decimal
    filled: Decimal
    at: datetime


class MemoryExchange:
    """One exchange account. `script` holds the acts for the next order requests, in order."""

    def __init__(self, exchange_id: str) -> None:
        self.exchange_id = exchange_id
        self.clock_offset: ClockOffset | None = ClockOffset(0.0, 0.0)
        self.new_connection_seconds: float | None = None
        self.script: deque[Act] = deque()
        self.orders: dict[str, _Executed] = {}
        self.requests: list[str] = []  # client order ids, in the order they were sent
        self.lookups_fail = False
        self.positions_fail = False
        self._ids = itertools.count(1)

    def will(self, *acts: Act) -> MemoryExchange:
        self.script.extend(acts)
        return self

    def position(self, side: Side) -> Decimal:
        """A one-way account's net position, seen from `side`."""
        held = Decimal(0)
        for order in self.orders.values():
            held += order.filled if (order.side == OrderSide.BUY) == (side == Side.LONG) else -order.filled
        return max(held, Decimal(0))

    # --- ExchangeConnector --------------------------------------------------------------------------------

    async def create_market_order(
        self, symbol: str, side: OrderSide, amount: Decimal, client_order_id: str, *, reduce_only: bool = False,
        position_side: Side | None = None, execute_before: datetime | None = None,
    ) -> OrderReport:
        act = self.script.popleft() if self.script else Act.FILL
        self.requests.append(client_order_id)
        signed_at = utcnow()
        request = SentRequest(signed_at, signed_at + WINDOW)
        if act is Act.REJECT:
            raise ExchangeError(self.exchange_id, "create_order", "Margin is insufficient. (code -2019)",
                                kind=ErrorKind.INSUFFICIENT_FUNDS, request=request)
        if act is Act.RATE_LIMITED:
            raise ExchangeError(self.exchange_id, "create_order", "Too many requests (code -1003)", retryable=True,
                                kind=ErrorKind.RATE_LIMITED, request=request)
        if reduce_only and position_side is not None and self.position(Side(position_side)) < amount:
            raise ExchangeError(self.exchange_id, "create_order", "ReduceOnly Order is rejected. (code -2022)",
                                kind=ErrorKind.INVALID_ORDER, request=request)
        if act is Act.LOST_UNSENT:
            raise ExchangeError(self.exchange_id, "create_order", "no answer: the connection was closed",
                                retryable=True, outcome_unknown=True, kind=ErrorKind.NETWORK, request=request)
        filled = amount / 2 if act is Act.HALF else amount
        self.orders[client_order_id] = _Executed(client_order_id, side, amount, filled, signed_at)
        if act is Act.LOST_EXECUTED:
            raise ExchangeError(self.exchange_id, "create_order", "the request timed out", retryable=True,
                                outcome_unknown=True, kind=ErrorKind.TIMEOUT, request=request)
        return OrderReport(**{**self._report(self.orders[client_order_id]).__dict__, "request": request})

    async def fetch_order(self, symbol: str, client_order_id: str, exchange_order_id: str | None = None) -> OrderReport:
        if self.lookups_fail:
            raise ExchangeError(self.exchange_id, "fetch_order", "503 Service Unavailable", retryable=True,
                                kind=ErrorKind.UNAVAILABLE)
        order = self.orders.get(client_order_id)
        if order is None:
            raise OrderNotFound(self.exchange_id, "fetch_order", "Order does not exist. (code -2013)")
        return self._report(order)

    async def fetch_positions(self, symbol: str) -> list[PositionReport]:
        if self.positions_fail:
            raise ExchangeError(self.exchange_id, "fetch_positions", "503 Service Unavailable", retryable=True,
                                kind=ErrorKind.UNAVAILABLE)
        return [PositionReport(self.exchange_id, symbol, side, held, PRICE)
                for side in Side if (held := self.position(side)) > 0]

    def executable_until(self, signed_by: datetime, execute_before: datetime | None = None) -> datetime:
        return min(signed_by + WINDOW, execute_before) if execute_before is not None else signed_by + WINDOW

    async def measure_clock_offset(self) -> ClockOffset:
        return ClockOffset(0.0, 0.0)

    def _report(self, order: _Executed) -> OrderReport:
        state = OrderState.FILLED if order.filled == order.amount else OrderState.PARTIALLY_FILLED
        return OrderReport(
            self.exchange_id, "BTC/USDT:USDT", order.client_order_id, str(next(self._ids)), state, order.side,
            order.amount, order.filled, PRICE, order.filled * PRICE * FEE_RATE, "USDT", executed_at=order.at,
        )
