"""Checks made before an order is sent: amount in the order unit, and the position side it acts on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrage.domain import OrderSide, Side
from arbitrage.exchanges import reports
from arbitrage.exchanges.connector import ErrorKind, ExchangeError, PositionMode


def to_contracts(exchange_id: str, market: dict[str, Any], amount: Decimal) -> Decimal:
    """Base units → the unit ccxt sends for derivatives (contracts = base / contractSize, exact).

    Refuses amounts that are not a whole multiple of the step: ccxt would silently truncate them.
    """
    size = reports.contract_size(market)
    step = reports.dec((market.get("precision") or {}).get("amount"))
    contracts = amount / size
    if amount <= 0 or (step is not None and contracts % step != 0):
        unit = f"{step * size} {market['base']}" if step is not None else "the step"
        raise ExchangeError(
            exchange_id,
            "create_order",
            f"amount {amount} {market['base']} is not a positive multiple of {unit} on {market['symbol']}",
            kind=ErrorKind.INVALID_AMOUNT,
            hint="round the amount to the exchange's step (`arbitrage markets` shows it)",
        )
    return contracts


def hedge_position_side(
    exchange_id: str, mode: PositionMode, side: OrderSide, reduce_only: bool, position_side: Side | None
) -> Side | None:
    """The position side an order acts on in hedge mode; None in one-way mode (where `position_side` is ignored).

    A buy opens LONG or closes SHORT; a sell opens SHORT or closes LONG. A contradicting `position_side` is refused.
    """
    if mode is PositionMode.ONE_WAY:
        return None
    expected: Side = "LONG" if (side == "buy") != reduce_only else "SHORT"
    if position_side is not None and position_side != expected:
        action = "close" if reduce_only else "open"
        raise ExchangeError(
            exchange_id, "create_order", f"a {side} order cannot {action} a {position_side} position", kind=ErrorKind.INVALID_ORDER
        )
    return expected
