"""The one writer of a subscription's story: status transitions, events, order rows, funding payments.

Every method is one transaction of its own; nothing here talks to an exchange. The in-memory `Subscription` a
step holds is brought up to date here (status, reason, result figures) and nowhere else, so no detached row ever
travels into another session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from arbitrage.db import repository as repo
from arbitrage.db.models import FundingPayment, Order, Subscription, SubscriptionEvent
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import OrderStatus, Status, is_terminal
from arbitrage.exchanges.connector import FundingPaymentReport
from arbitrage.logging import get_logger
from arbitrage.services.order_execution import OrderIntent, SendOutcome

log = get_logger(__name__)


@dataclass(frozen=True)
class StepResult:
    """What a step says happened: the status the subscription goes to, why, and the event that records it."""

    target: Status
    reason: str
    event: str
    details: dict[str, Any] | None = None
    # Columns of the subscription row set in the same transaction (the result figures of COMPLETED).
    values: dict[str, Any] = field(default_factory=dict)
    # Why it did not go as planned, for a status that does not carry a reason by itself (a late open's COMPLETED).
    note: str | None = None


@dataclass(frozen=True)
class OrderFinding:
    """What a lookup after a restart found for one order row."""

    client_order_id: str
    status: OrderStatus
    filled: Decimal
    note: str | None
    exchange_order_id: str | None = None
    average_price: Decimal | None = None
    fee: Decimal | None = None
    fee_currency: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class StatusChange:
    """A committed transition as observers (alerts) see it: a copy of the row's figures, never the row."""

    subscription_id: int
    from_status: Status
    to_status: Status
    reason: str
    primary_exchange: str
    primary_symbol: str
    hedge_exchange: str
    hedge_symbol: str
    side: Side  # the primary leg's
    amount: Decimal
    applied_leverage: int | None
    funding_time: datetime
    error_message: str | None
    funding_received: Decimal | None
    fees: Decimal | None
    realized_pnl: Decimal | None
    at: datetime


# Called after the transaction committed, on the event loop: it must return at once (queue the work, never await).
StatusObserver = Callable[[StatusChange], None]


class SubscriptionJournal:
    def __init__(self, db: Database) -> None:
        self.db = db
        # Set at daemon start (the alert worker); a failing observer is logged and never affects the subscription.
        self.observers: list[StatusObserver] = []

    # --- reading ---------------------------------------------------------------------------------------------

    async def load(self, subscription_id: int) -> Subscription:
        async with self.db.unit_of_work() as session:
            return await repo.require_subscription(session, subscription_id)

    async def status_of(self, subscription_id: int) -> Status:
        return Status((await self.load(subscription_id)).status)

    async def orders(self, subscription_id: int) -> list[Order]:
        async with self.db.unit_of_work() as session:
            return list(await repo.orders_for(session, subscription_id))

    async def events(self, subscription_id: int) -> list[SubscriptionEvent]:
        async with self.db.unit_of_work() as session:
            return list(await repo.events_for(session, subscription_id))

    async def subscriptions_in(self, statuses: Iterable[Status]) -> list[Subscription]:
        async with self.db.unit_of_work() as session:
            return list(await repo.list_subscriptions(session, list(statuses)))

    # --- the subscription ------------------------------------------------------------------------------------

    async def apply(self, subscription: Subscription, result: StepResult) -> None:
        """Move the subscription to `result.target` (with its event and log line) and update `subscription`."""
        async with self.db.unit_of_work() as session:
            stored = await repo.require_subscription(session, subscription.id)
            for column, value in result.values.items():
                setattr(stored, column, value)
            row = await repo.transition(session, stored, result.target, event=result.event, message=result.reason,
                                        details=result.details, error_message=result.note)
        _copy_status(stored, subscription, result.values)
        self._notify(stored, row)

    async def transition(
        self, subscription: Subscription, target: Status, reason: str, *, event: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.apply(subscription, StepResult(target, reason, event, details))

    async def fail_loudly(self, subscription_id: int, reason: str) -> None:
        """The last line of defence after a crash inside a step: nothing sent yet → ERROR, else NEEDS_ATTENTION."""
        try:
            async with self.db.unit_of_work() as session:
                stored = await repo.require_subscription(session, subscription_id)
                target = Status.ERROR if stored.status in (Status.SCHEDULED, Status.SYNCING_LEVERAGE) else (
                    Status.NEEDS_ATTENTION
                )
                row = None
                if not is_terminal(stored.status) and stored.status is not Status.NEEDS_ATTENTION:
                    row = await repo.transition(session, stored, target, event="pipeline_crashed", message=reason)
        except Exception:
            log.exception("pipeline_crash_not_recorded")
            return
        if row is not None:
            self._notify(stored, row)

    async def event(
        self, subscription_id: int, event: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        async with self.db.unit_of_work() as session:
            await repo.add_event(session, subscription_id, event, message=message, details=details)

    async def set_applied_leverage(self, subscription: Subscription, leverage: int) -> None:
        async with self.db.unit_of_work() as session:
            stored = await repo.require_subscription(session, subscription.id)
            stored.applied_leverage = leverage
        subscription.applied_leverage = leverage

    # --- orders ----------------------------------------------------------------------------------------------

    async def record_orders(self, subscription_id: int, intents: Sequence[OrderIntent]) -> list[Order]:
        """Persist orders as PENDING (with their client ids) before they are sent."""
        async with self.db.unit_of_work() as session:
            return [await _add_order(session, subscription_id, intent) for intent in intents]

    async def record_opening(
        self, subscription: Subscription, intents: Sequence[OrderIntent], reason: str, details: dict[str, Any]
    ) -> list[Order]:
        """The open orders and OPENING in one transaction: at the trigger only the sends happen."""
        async with self.db.unit_of_work() as session:
            rows = [await _add_order(session, subscription.id, intent) for intent in intents]
            stored = await repo.require_subscription(session, subscription.id)
            event = await repo.transition(session, stored, Status.OPENING, event="opening", message=reason,
                                          details=details)
        _copy_status(stored, subscription)
        self._notify(stored, event)
        return rows

    async def record_outcomes(self, rows: Sequence[Order], outcomes: Sequence[SendOutcome]) -> None:
        """Store what the exchanges answered. A database failure here must not stop the decisions that follow
        (they use the outcomes in memory), so it is logged loudly instead of raised."""
        try:
            async with self.db.unit_of_work() as session:
                for row, outcome in zip(rows, outcomes, strict=True):
                    report = outcome.report
                    await repo.update_order(
                        session, await _order(session, row), status=outcome.order_status,
                        exchange_order_id=outcome.exchange_order_id, filled=outcome.filled,
                        average_price=report.average_price if report else None,
                        fee=report.fee if report else None, fee_currency=report.fee_currency if report else None,
                        error_message=outcome.error, sent_at=outcome.sent_at, acknowledged_at=outcome.acknowledged_at,
                    )
                    if outcome.order_status is OrderStatus.UNKNOWN:
                        log.error("order_state_unknown", exchange=row.exchange, client_order_id=row.client_order_id)
        except Exception:
            log.exception("orders_not_recorded", client_order_ids=[row.client_order_id for row in rows])

    async def mark_not_sent(self, rows: Sequence[Order], reason: str) -> None:
        async with self.db.unit_of_work() as session:
            for row in rows:
                await repo.update_order(session, await _order(session, row), status=OrderStatus.FAILED,
                                        error_message=reason)

    async def orders_on(self, exchange: str, symbol: str, between: tuple[datetime, datetime]) -> list[Order]:
        """Every subscription's orders on one exchange and symbol whose funding time falls in `between`."""
        async with self.db.unit_of_work() as session:
            return list(await repo.orders_on(session, exchange, symbol, funding_between=between))

    async def store_funding(
        self, subscription_id: int, shares: Sequence[tuple[FundingPaymentReport, Decimal]], event: str, message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        """This subscription's share of each payment, and the event that says what was confirmed."""
        async with self.db.unit_of_work() as session:
            for payment, share in shares:
                await repo.add_funding_payment(
                    session, subscription_id=subscription_id, exchange=payment.exchange, symbol=payment.symbol,
                    amount=share, paid_at=payment.paid_at, exchange_payment_id=payment.payment_id,
                )
            await repo.add_event(session, subscription_id, event, message=message, details=details)

    async def payments(self, subscription_id: int) -> list[FundingPayment]:
        async with self.db.unit_of_work() as session:
            return list(await repo.payments_for(session, subscription_id))

    async def store_findings(
        self, subscription_id: int, findings: Sequence[OrderFinding], message: str, details: dict[str, Any]
    ) -> None:
        """Rows looked up after a restart, as the exchanges tell them, and one `recovered` event."""
        async with self.db.unit_of_work() as session:
            rows = {order.client_order_id: order for order in await repo.orders_for(session, subscription_id)}
            for finding in findings:
                await repo.update_order(
                    session, rows[finding.client_order_id], status=finding.status, filled=finding.filled,
                    exchange_order_id=finding.exchange_order_id, average_price=finding.average_price,
                    fee=finding.fee, fee_currency=finding.fee_currency, error_message=finding.note,
                    sent_at=finding.sent_at,
                )
            await repo.add_event(session, subscription_id, "recovered", message=message, details=details)


    def _notify(self, stored: Subscription, event: SubscriptionEvent) -> None:
        if not self.observers:
            return
        change = StatusChange(
            subscription_id=stored.id, from_status=Status(event.from_status), to_status=Status(event.to_status),
            reason=event.message or "", primary_exchange=stored.primary_exchange,
            primary_symbol=stored.primary_symbol, hedge_exchange=stored.hedge_exchange,
            hedge_symbol=stored.hedge_symbol, side=Side(stored.side), amount=stored.amount,
            applied_leverage=stored.applied_leverage, funding_time=stored.funding_time,
            error_message=stored.error_message, funding_received=stored.funding_received, fees=stored.fees,
            realized_pnl=stored.realized_pnl, at=event.at,
        )
        for observer in self.observers:
            try:
                observer(change)
            except Exception:  # an observer's bug must never stop a subscription
                log.exception("status_observer_failed", subscription_id=stored.id)


def _copy_status(stored: Subscription, subscription: Subscription, values: dict[str, Any] | None = None) -> None:
    """The caller's row as the transaction left the stored one: status, when it changed, its reason, `values`."""
    changed = {"status": stored.status, "status_changed_at": stored.status_changed_at,
               "error_message": stored.error_message, **(values or {})}
    for column, value in changed.items():
        setattr(subscription, column, value)


async def _add_order(session: Any, subscription_id: int, intent: OrderIntent) -> Order:
    return await repo.add_order(
        session, subscription_id=subscription_id, leg=intent.leg, purpose=intent.purpose, exchange=intent.exchange,
        symbol=intent.symbol, side=intent.side, amount=intent.amount, client_order_id=intent.client_order_id,
    )


async def _order(session: Any, row: Order) -> Order:
    order = await session.get(Order, row.id)
    assert order is not None, f"order {row.client_order_id} vanished"
    return order
