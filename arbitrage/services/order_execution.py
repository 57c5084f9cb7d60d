"""Send orders that are already persisted, and never lose track of one.

The caller commits each order's row (with its client order id) before calling `send_orders`. Orders go out
concurrently. When a request's outcome is unknown (timeout, dropped connection after sending) the order is
looked up by its client order id until the exchange says whether it exists; only if it never arrived is it
treated as failed. Nothing here re-sends an order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from arbitrage.domain import Leg, OrderPurpose, OrderSide
from arbitrage.domain.status import OrderStatus
from arbitrage.exchanges.connector import (
    ExchangeConnector,
    ExchangeError,
    OrderNotFound,
    OrderReport,
    OrderState,
    PositionSide,
)
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow

log = get_logger(__name__)

# How long to keep asking an exchange about an order whose response was lost before declaring it unknown.
LOOKUP_DEADLINE_SECONDS = 30.0
LOOKUP_DELAYS_SECONDS = (0.2, 0.5, 1.0, 2.0, 4.0)
# An order the exchange still does not know after this many lookups never arrived.
NOT_FOUND_CONFIRMATIONS = 3


class LegState(StrEnum):
    FILLED = "FILLED"  # executed (fully or partly): there is exposure of `filled`
    FAILED = "FAILED"  # definitely not executed: no exposure
    UNKNOWN = "UNKNOWN"  # could not find out: exposure may exist


@dataclass(frozen=True)
class OrderIntent:
    leg: Leg
    purpose: OrderPurpose
    exchange: str
    symbol: str
    side: OrderSide
    amount: Decimal  # base units
    client_order_id: str
    reduce_only: bool = False
    position_side: PositionSide | None = None


@dataclass
class SendOutcome:
    intent: OrderIntent
    state: LegState
    report: OrderReport | None = None
    error: str | None = None
    sent_at: datetime = field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    never_arrived: bool = False  # FAILED because the exchange never received it (not a rejection)
    acknowledged_id: str | None = None  # the exchange's id when it acknowledged an order whose outcome is unknown

    @property
    def exchange_order_id(self) -> str | None:
        return self.report.exchange_order_id if self.report is not None else self.acknowledged_id

    @property
    def filled(self) -> Decimal:
        return self.report.filled if self.report is not None else Decimal(0)

    @property
    def order_status(self) -> OrderStatus:
        if self.state is LegState.UNKNOWN:
            return OrderStatus.UNKNOWN
        if self.state is LegState.FAILED:
            return OrderStatus.FAILED if self.never_arrived else OrderStatus.REJECTED
        assert self.report is not None
        if self.report.state is OrderState.FILLED:
            return OrderStatus.FILLED
        return OrderStatus.PARTIALLY_FILLED


async def send_orders(connectors: dict[str, ExchangeConnector], intents: list[OrderIntent]) -> list[SendOutcome]:
    """Send every intent at once; one outcome per intent, in order. Never raises for an exchange failure."""
    return list(await asyncio.gather(*(send_order(connectors[i.exchange], i) for i in intents)))


async def send_order(connector: ExchangeConnector, intent: OrderIntent) -> SendOutcome:
    sent_at = utcnow()
    try:
        report = await connector.create_market_order(
            intent.symbol,
            intent.side,
            intent.amount,
            intent.client_order_id,
            reduce_only=intent.reduce_only,
            position_side=intent.position_side,
        )
    except ExchangeError as error:
        if not (error.outcome_unknown or error.retryable):
            return SendOutcome(intent, LegState.FAILED, error=error.user_message, sent_at=sent_at)
        log.warning(
            "order_outcome_unknown",
            exchange=intent.exchange,
            client_order_id=intent.client_order_id,
            reason=error.user_message,
        )
        return await _look_up(connector, intent, sent_at, error.user_message, error.exchange_order_id)
    return _from_report(intent, report, sent_at)


def _from_report(intent: OrderIntent, report: OrderReport, sent_at: datetime) -> SendOutcome:
    acknowledged_at = utcnow()
    if report.filled > 0:
        return SendOutcome(intent, LegState.FILLED, report, sent_at=sent_at, acknowledged_at=acknowledged_at)
    if report.state in (OrderState.CANCELED, OrderState.REJECTED):
        reason = f"{intent.exchange}: order {report.raw_status or report.state.lower()} without a fill"
        return SendOutcome(intent, LegState.FAILED, report, reason, sent_at, acknowledged_at)
    # Accepted but not filled yet: a market order should not rest; treat it as exposure we cannot size.
    reason = f"{intent.exchange}: market order accepted but not filled (status {report.raw_status})"
    return SendOutcome(intent, LegState.UNKNOWN, report, reason, sent_at, acknowledged_at)


async def _look_up(
    connector: ExchangeConnector,
    intent: OrderIntent,
    sent_at: datetime,
    first_error: str,
    exchange_order_id: str | None = None,
) -> SendOutcome:
    """Ask the exchange about an order whose outcome is unknown. An order the exchange acknowledged (it returned
    an id) exists there whatever a lookup says: it can end UNKNOWN, never FAILED."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOOKUP_DEADLINE_SECONDS
    not_found = 0
    last_error = first_error
    for attempt in range(1_000):
        delay = LOOKUP_DELAYS_SECONDS[min(attempt, len(LOOKUP_DELAYS_SECONDS) - 1)]
        if loop.time() + delay > deadline:
            break
        await asyncio.sleep(delay)
        try:
            report = await connector.fetch_order(intent.symbol, intent.client_order_id, exchange_order_id)
        except OrderNotFound as error:
            not_found += 1
            last_error = error.user_message
            if exchange_order_id is None and not_found >= NOT_FOUND_CONFIRMATIONS:
                reason = f"{intent.exchange}: order not received by the exchange ({first_error})"
                return SendOutcome(intent, LegState.FAILED, error=reason, sent_at=sent_at, never_arrived=True)
            continue
        except ExchangeError as error:
            last_error = error.user_message
            if not (error.retryable or error.outcome_unknown):
                break
            continue
        log.info("order_found_after_unknown_outcome", exchange=intent.exchange, client_order_id=intent.client_order_id)
        return _from_report(intent, report, sent_at)
    acknowledged = f" (acknowledged as {exchange_order_id})" if exchange_order_id else ""
    reason = (
        f"{intent.exchange}: outcome of order {intent.client_order_id}{acknowledged} unknown ({last_error}); "
        f"check the order on {intent.exchange}"
    )
    return SendOutcome(intent, LegState.UNKNOWN, error=reason, sent_at=sent_at, acknowledged_id=exchange_order_id)
