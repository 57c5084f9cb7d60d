"""Send orders that are already persisted, and never lose track of one.

The caller commits each order's row (with its client order id) before calling `send_orders`. Orders go out
concurrently. When a request's outcome is in doubt (timeout, dropped connection, 5xx) the order is settled by
`order_lookup.settle`: looked up by its client order id until the exchange says what it did, or until its receive
window has closed and a lookup still finds nothing. Nothing here re-sends an order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial

from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.status import OrderStatus
from arbitrage.exchanges.connector import (
    REFUSED_UNPROCESSED,
    ExchangeConnector,
    ExchangeError,
    OrderReport,
    OrderState,
    SentRequest,
)
from arbitrage.exchanges.send_gate import SendGate, through_gate
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow
from arbitrage.services.order_lookup import DoubtfulOrder, PositionProbe, Verdict, settle

log = get_logger(__name__)

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
    position_side: Side | None = None


@dataclass
class SendOutcome:
    intent: OrderIntent
    state: LegState
    report: OrderReport | None = None
    error: str | None = None
    sent_at: datetime = field(default_factory=utcnow)  # when the request was written (else signed)
    acknowledged_at: datetime | None = None
    never_arrived: bool = False  # FAILED because the exchange never received it or can no longer execute it
    acknowledged_id: str | None = None  # the exchange's id when it acknowledged an order whose outcome is unknown
    exchange_error: ExchangeError | None = None  # what the exchange (or the way to it) answered, classified

    @property
    def may_send_again(self) -> bool:
        """It provably did not execute and nothing about the order itself was refused: a new attempt may work."""
        refused_unprocessed = self.exchange_error is not None and self.exchange_error.kind in REFUSED_UNPROCESSED
        return self.state is LegState.FAILED and (self.never_arrived or refused_unprocessed)

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


# Stores one order's outcome (its index in the intents, the outcome) the moment it is known.
OutcomeRecorder = Callable[[int, "SendOutcome"], Awaitable[None]]


async def send_orders(
    connectors: dict[str, ExchangeConnector], intents: list[OrderIntent], *, execute_before: datetime | None = None,
    probes: dict[str, PositionProbe] | None = None, record: OutcomeRecorder | None = None,
) -> list[SendOutcome]:
    """Send every intent at once (written back to back once all are signed); one outcome per intent, in order.
    Never raises for an exchange failure. `probes` (by client order id) tell what an exchange's position shows an
    order may have opened. `record` stores each outcome as soon as it is known, without waiting for the other
    orders: a daemon that dies while one leg is still in doubt keeps what the exchange said about the other (a
    rejection and its code)."""
    probes = probes or {}
    gate = SendGate(len(intents))

    async def one(index: int, intent: OrderIntent) -> SendOutcome:
        outcome = await through_gate(gate, partial(send_order, connectors[intent.exchange], intent,
                                                   execute_before=execute_before,
                                                   probe=probes.get(intent.client_order_id)))
        if record is not None:
            await record(index, outcome)
        return outcome

    return list(await asyncio.gather(*(one(index, intent) for index, intent in enumerate(intents))))


async def send_order(
    connector: ExchangeConnector, intent: OrderIntent, *, execute_before: datetime | None = None,
    probe: PositionProbe | None = None,
) -> SendOutcome:
    queued_at = utcnow()
    try:
        report = await connector.create_market_order(
            intent.symbol,
            intent.side,
            intent.amount,
            intent.client_order_id,
            reduce_only=intent.reduce_only,
            position_side=intent.position_side,
            execute_before=execute_before,
        )
    except ExchangeError as error:
        request = error.request
        sent_at = _left_at(request) if request is not None else queued_at
        if request is None and error.exchange_order_id is None:  # it never left: nothing can execute
            return SendOutcome(intent, LegState.FAILED, error=error.user_message, sent_at=sent_at,
                               never_arrived=True, exchange_error=error)
        if not (error.outcome_unknown or error.retryable) or error.kind in REFUSED_UNPROCESSED:
            return SendOutcome(intent, LegState.FAILED, error=error.user_message, sent_at=sent_at,
                               exchange_error=error)
        log.warning(
            "order_outcome_unknown",
            exchange=intent.exchange,
            client_order_id=intent.client_order_id,
            reason=error.user_message,
        )
        executable_until = request.executable_until if request is not None else connector.executable_until(utcnow())
        doubt = DoubtfulOrder(intent.exchange, intent.symbol, intent.client_order_id, error.exchange_order_id,
                              executable_until)
        settled = await settle(connector, doubt, error.user_message, probe)
        if settled.verdict is Verdict.FOUND:
            assert settled.report is not None
            return _from_report(intent, settled.report, sent_at)
        if settled.verdict is Verdict.NEVER_ARRIVED:
            return SendOutcome(intent, LegState.FAILED, error=settled.reason, sent_at=sent_at, never_arrived=True,
                               exchange_error=error)
        return SendOutcome(intent, LegState.UNKNOWN, error=settled.reason, sent_at=sent_at,
                           acknowledged_id=error.exchange_order_id, exchange_error=error)
    sent_at = _left_at(report.request) if report.request is not None else queued_at
    return _from_report(intent, report, sent_at)


def _left_at(request: SentRequest) -> datetime:
    return request.written_at or request.signed_at


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
