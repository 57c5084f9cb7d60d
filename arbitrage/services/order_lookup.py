"""Settling an order whose outcome is in doubt: the one routine for the live path and for crash recovery.

An order is taken as "never arrived" only once the exchange can no longer execute it: its receive window has
closed (`executable_until`: the request's timestamp + its window + the exchange's clock offset bound), a margin
for the exchange's order index has passed, a lookup by client order id made after that still finds nothing, and
the exchange's position (where it can tell) does not show it either. Until then the order is looked up again
with backoff. An order the exchange acknowledged (it returned an id) exists there: it is never taken as absent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from arbitrage.exchanges.connector import ExchangeConnector, ExchangeError, OrderNotFound, OrderReport
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow

log = get_logger(__name__)

# After the window closes, exchanges may still be indexing an order they executed at its last moment.
PROOF_MARGIN = timedelta(seconds=2)
LOOKUP_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0, 4.0)
# How long past the proof time to keep asking an exchange whose lookups fail before calling the outcome unknown.
LOOKUP_DEADLINE_SECONDS = 30.0

# What the exchange's position shows this order may have opened (base units); None when it cannot tell.
PositionProbe = Callable[[], Awaitable[Decimal | None]]


class Verdict(StrEnum):
    FOUND = "FOUND"  # the exchange has it: `report` says what it did
    NEVER_ARRIVED = "NEVER_ARRIVED"  # proven: it was not executed and can no longer be
    UNKNOWN = "UNKNOWN"  # could not find out: exposure may exist


@dataclass(frozen=True)
class Settled:
    verdict: Verdict
    report: OrderReport | None = None
    reason: str = ""


@dataclass(frozen=True)
class DoubtfulOrder:
    exchange: str
    symbol: str
    client_order_id: str
    exchange_order_id: str | None
    executable_until: datetime  # our clock: after this the exchange refuses it (its timestamp error)


async def settle(
    connector: ExchangeConnector, order: DoubtfulOrder, first_error: str, probe: PositionProbe | None = None
) -> Settled:
    """Look `order` up until the exchange says what it did or the window rule proves it never arrived."""
    proof_time = order.executable_until + PROOF_MARGIN
    deadline = max(proof_time, utcnow()) + timedelta(seconds=LOOKUP_DEADLINE_SECONDS)
    last_error, position_shows = first_error, None
    for attempt in range(10_000):
        asked_at = utcnow()
        try:
            report = await connector.fetch_order(order.symbol, order.client_order_id, order.exchange_order_id)
        except OrderNotFound as error:
            last_error = error.user_message
            if order.exchange_order_id is None and asked_at >= proof_time:
                position_shows = await probe() if probe is not None else None
                if not position_shows:
                    return Settled(Verdict.NEVER_ARRIVED, reason=_never_arrived(order, first_error))
        except ExchangeError as error:
            last_error = error.user_message
            if not (error.retryable or error.outcome_unknown):
                break
        else:
            if attempt:
                log.info("order_found_after_doubt", exchange=order.exchange, client_order_id=order.client_order_id,
                         lookups=attempt + 1)
            return Settled(Verdict.FOUND, report)
        delay = LOOKUP_DELAYS_SECONDS[min(attempt, len(LOOKUP_DELAYS_SECONDS) - 1)]
        now = utcnow()
        if now < proof_time:  # look again right when the proof can be made
            delay = min(delay, max((proof_time - now).total_seconds(), 0.05))
        if now + timedelta(seconds=delay) > deadline:
            break
        await asyncio.sleep(delay)
    return Settled(Verdict.UNKNOWN, reason=_unknown(order, last_error, position_shows))


def _never_arrived(order: DoubtfulOrder, first_error: str) -> str:
    return (f"{order.exchange}: order {order.client_order_id} never reached the exchange and can no longer execute "
            f"(its window closed at {order.executable_until.isoformat(timespec='milliseconds')}; {first_error})")


def _unknown(order: DoubtfulOrder, last_error: str, position_shows: Decimal | None) -> str:
    acknowledged = f" (acknowledged as {order.exchange_order_id})" if order.exchange_order_id else ""
    shown = f"; the position shows {position_shows}" if position_shows else ""
    return (f"{order.exchange}: outcome of order {order.client_order_id}{acknowledged} unknown ({last_error}{shown}); "
            f"check the order on {order.exchange}")
