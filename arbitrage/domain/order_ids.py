"""Deterministic client order ids.

The id is written to the database before the order is sent, and after any doubt (timeout, crash) the order is
looked up on the exchange by it, so it must be derivable from the subscription alone and valid on every venue:
Binance `^[.A-Z:/a-z0-9_-]{1,36}$`, Bybit orderLinkId <= 36, BingX clientOrderID <= 40, MEXC externalOid <= 32.
The subscription's creation second is part of it so that a fresh database never reuses an id an account has seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

Leg = Literal["PRIMARY", "HEDGE"]
Purpose = Literal["OPEN", "CLOSE", "UNWIND"]

MAX_LENGTH = 32
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(value: int) -> str:
    digits = ""
    while True:
        value, remainder = divmod(value, 36)
        digits = _ALPHABET[remainder] + digits
        if value == 0:
            return digits


def client_order_id(
    subscription_id: int, created_at: datetime, leg: Leg, purpose: Purpose, attempt: int = 1
) -> str:
    """e.g. `arb-t3x9k2-42-PO1` for subscription 42's primary OPEN order, first attempt."""
    if subscription_id < 1 or attempt < 1:
        raise ValueError("subscription_id and attempt start at 1")
    created = _base36(int(created_at.timestamp()))
    value = f"arb-{created}-{subscription_id}-{leg[0]}{purpose[0]}{attempt}"
    if len(value) > MAX_LENGTH:
        raise ValueError(f"client order id {value!r} is longer than {MAX_LENGTH} characters")
    return value


def next_attempt(client_order_ids: Iterable[str], leg: Leg, purpose: Purpose) -> int:
    """The attempt number after the highest one used for `leg` + `purpose` (ids end `-<L><P><attempt>`, e.g.
    `arb-t3x9k2-42-PC2`), so that a new order never reuses an id the exchange has already seen."""
    prefix = f"{leg[0]}{purpose[0]}"
    used = [0]
    for client_order_id in client_order_ids:
        suffix = client_order_id.rsplit("-", 1)[-1]
        if suffix.startswith(prefix) and suffix[len(prefix):].isdigit():
            used.append(int(suffix[len(prefix):]))
    return max(used) + 1
