"""Funding confirmation after the funding time, and the subscription's result once both legs are closed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db import repository as repo
from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.funding import ClosedLeg, realized_pnl, share_of_payment
from arbitrage.domain.status import Status
from arbitrage.exchanges.connector import FundingPaymentReport
from arbitrage.logging import get_logger
from arbitrage.services.funding_confirmation import STAMP_TOLERANCE, collect_funding_payments

if TYPE_CHECKING:
    from arbitrage.services.pipeline import Pipeline

log = get_logger(__name__)


async def confirm_funding(pipeline: Pipeline, subscription: Subscription) -> list[FundingPaymentReport] | None:
    """Poll both legs' funding history and store what arrived. None when the daemon is stopping."""
    primary, hedge = pipeline.venues(subscription)
    async with pipeline.db.unit_of_work() as session:
        orders = await repo.orders_for(session, subscription.id)
    opened_at = min((o.sent_at for o in orders if o.purpose is OrderPurpose.OPEN and o.sent_at), default=None)
    expected = {subscription.primary_exchange}
    if await _hedge_pays_now(pipeline, subscription):
        expected.add(subscription.hedge_exchange)
    found = await collect_funding_payments(
        [primary, hedge],
        opened_at=opened_at or subscription.funding_time,
        funding_time=subscription.funding_time,
        expected=expected,
        timeout_seconds=pipeline.config.funding_confirm_timeout_seconds,
        poll_interval_seconds=pipeline.config.funding_poll_interval_seconds,
        stop=pipeline.stop,
    )
    payments = [payment for exchange_payments in found.values() for payment in exchange_payments]
    missing = sorted(exchange for exchange in expected if not found.get(exchange))
    if missing and pipeline.stop.is_set():
        return None
    async with pipeline.db.unit_of_work() as session:
        shares = []
        for payment in payments:
            share = await _our_share(session, subscription, payment)
            shares.append((payment.exchange, share))
            await repo.add_funding_payment(
                session, subscription_id=subscription.id, exchange=payment.exchange, symbol=payment.symbol,
                amount=share, paid_at=payment.paid_at, exchange_payment_id=payment.payment_id,
            )
        total = sum((share for _, share in shares), Decimal(0))
        if missing:
            message = (f"funding payment not seen on {', '.join(missing)} within "
                       f"{pipeline.config.funding_confirm_timeout_seconds:g} s; closing anyway")
            await repo.add_event(session, subscription.id, "funding_not_confirmed", message=message)
            log.warning("funding_not_confirmed", missing=missing)
        else:
            await repo.add_event(session, subscription.id, "funding_confirmed", message=f"funding {_plain(total)} USDT",
                                 details={exchange: str(share) for exchange, share in shares})
            log.info("funding_confirmed", total=str(total))
    return payments


async def _our_share(session: AsyncSession, subscription: Subscription, payment: FundingPaymentReport) -> Decimal:
    """One-way accounts net every subscription's position in a symbol and pay funding on the net; each
    subscription's share follows from the positions our own orders held at the funding instant."""
    positions: dict[int, Decimal] = {}
    event = (subscription.funding_time - STAMP_TOLERANCE, subscription.funding_time + STAMP_TOLERANCE)
    for order in await repo.orders_on(session, payment.exchange, payment.symbol, funding_between=event):
        if order.filled > 0 and order.sent_at is not None and order.sent_at <= subscription.funding_time:
            signed = order.filled if order.side is OrderSide.BUY else -order.filled
            positions[order.subscription_id] = positions.get(order.subscription_id, Decimal(0)) + signed
    own = positions.get(subscription.id, Decimal(0))
    return share_of_payment(payment.amount, own, sum(positions.values(), Decimal(0)))


async def _hedge_pays_now(pipeline: Pipeline, subscription: Subscription) -> bool:
    """The hedge exchange settles at the same instant when its schedule matches (both 8 h, say)."""
    async with pipeline.db.unit_of_work() as session:
        events = await repo.events_for(session, subscription.id)
    for event in reversed(events):
        if event.event == "leverage_synced" and event.details:
            return bool(event.details.get("hedge_pays_at_same_time", True))
    return True


async def record_result(pipeline: Pipeline, subscription: Subscription, note: str | None = None) -> None:
    """CLOSING → COMPLETED with funding received, fees and realized PnL on the row; `note` (why it did not go as
    planned) lands in `error_message`."""
    async with pipeline.db.unit_of_work() as session:
        orders = await repo.orders_for(session, subscription.id)
        payments = await repo.payments_for(session, subscription.id)
        funding = sum((p.amount for p in payments), Decimal(0))
        fees = sum((o.fee or Decimal(0) for o in orders if _in_usdt(o)), Decimal(0))
        other_fees = [f"{o.fee} {o.fee_currency} ({o.exchange})" for o in orders if o.fee and not _in_usdt(o)]
        if other_fees:  # e.g. BNB commission on Binance: not added to a USDT figure
            await repo.add_event(session, subscription.id, "fees_not_in_usdt",
                                 message="not included in fees and PnL: " + ", ".join(other_fees))
        side = Side(subscription.side)
        legs = [leg for leg in (_closed_leg(orders, Leg.PRIMARY, side), _closed_leg(orders, Leg.HEDGE, side.opposite))
                if leg is not None]
        pnl = realized_pnl(legs, funding, fees)
        stored = await repo.require_subscription(session, subscription.id)
        stored.funding_received, stored.fees, stored.realized_pnl = funding, fees, pnl
        await repo.transition(
            session, stored, Status.COMPLETED, event="completed",
            message=f"funding {_plain(funding)}, fees {_plain(fees)}, realized PnL {_plain(pnl)} USDT",
            details={"funding_received": str(funding), "fees": str(fees), "realized_pnl": str(pnl)},
            error_message=note,
        )
    subscription.status = Status.COMPLETED
    subscription.funding_received, subscription.fees, subscription.realized_pnl = funding, fees, pnl


def _closed_leg(orders: Sequence[Order], leg: Leg, side: Side) -> ClosedLeg | None:
    entries = [o for o in orders if o.leg is leg and o.purpose is OrderPurpose.OPEN and o.filled > 0]
    exits = [o for o in orders if o.leg is leg and o.purpose is not OrderPurpose.OPEN and o.filled > 0]
    if not entries or not exits:
        return None
    amount = sum((o.filled for o in entries), Decimal(0))
    return ClosedLeg(side=side, amount=amount, entry_price=_average(entries), exit_price=_average(exits))


def _in_usdt(order: Order) -> bool:
    return order.fee_currency in (None, "USDT")


def _plain(value: Decimal) -> str:
    """0.24000000 → 0.24, 1E+1 → 10: amounts in messages read like amounts."""
    return format(value.normalize(), "f") if value else "0"


def _average(orders: Sequence[Order]) -> Decimal:
    quantity = sum((o.filled for o in orders), Decimal(0))
    value = sum((o.filled * (o.average_price or Decimal(0)) for o in orders), Decimal(0))
    return value / quantity

