"""The pure domain layer: no I/O, no ccxt, SQLAlchemy or structlog.

This module holds the shared vocabulary every layer speaks: the exchange ids (from `venues.py`, one row per
exchange) and the small enums whose upper/lower-case string values are stored in the database and read by users
in SQL.
"""

from __future__ import annotations

from enum import StrEnum

from arbitrage.domain.venues import EXCHANGE_ALIASES, EXCHANGE_IDS


class UnknownExchange(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown exchange {name!r} (choose from {', '.join(EXCHANGE_IDS)})")
        self.name = name


def normalize_exchange_id(name: str) -> str:
    """`Binance` → `binanceusdm`, `BYBIT` → `bybit`; raises `UnknownExchange` for anything else."""
    key = name.strip().lower()
    key = EXCHANGE_ALIASES.get(key, key)
    if key not in EXCHANGE_IDS:
        raise UnknownExchange(name)
    return key


class Side(StrEnum):
    """The primary leg's position side; the hedge leg takes the opposite."""

    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG

    @property
    def opening_order_side(self) -> OrderSide:
        return OrderSide.BUY if self is Side.LONG else OrderSide.SELL

    @property
    def closing_order_side(self) -> OrderSide:
        return OrderSide.SELL if self is Side.LONG else OrderSide.BUY


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class Leg(StrEnum):
    PRIMARY = "PRIMARY"
    HEDGE = "HEDGE"


class OrderPurpose(StrEnum):
    OPEN = "OPEN"
    CLOSE = "CLOSE"
    UNWIND = "UNWIND"  # closing the one leg that filled when the other failed


__all__ = [
    "EXCHANGE_ALIASES",
    "EXCHANGE_IDS",
    "Leg",
    "OrderPurpose",
    "OrderSide",
    "Side",
    "UnknownExchange",
    "normalize_exchange_id",
]
