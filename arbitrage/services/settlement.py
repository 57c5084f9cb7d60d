"""Funding confirmation after the funding time, and the subscription's result once both legs are closed."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.funding import ClosedLeg, leg_price_pnl, realized_pnl, share_of_payment
from arbitrage.domain.status import Status
from arbitrage.exchanges.connector import FundingPaymentReport
from arbitrage.logging import get_logger
from arbitrage.services.funding_confirmation import STAMP_TOLERANCE, collect_funding_payments
from arbitrage.services.journal import StepResult
from arbitrage.services.step_context import StepContext

log = get_logger(__name__)


async def confirm_funding(ctx: StepContext, subscription: Subscription) -> list[FundingPaymentReport] | None:
    """Poll both legs' funding history and store what arrived. None when the daemon is stopping."""
    primary, hedge = ctx.venues(subscription)
    orders = await ctx.journal.orders(subscription.id)
    opened_at = min((o.sent_at for o in orders if o.purpose is OrderPurpose.OPEN and o.sent_at), default=None)
    if opened_at is not None:  # our clock → the exchanges' (payments carry their stamps); the earlier of the two
        opened_at = min(ctx.config.exchange_time(venue.exchange, opened_at) for venue in (primary, hedge))
    expected = {subscription.primary_exchange}
    if await _hedge_pays_now(ctx, subscription):
        expected.add(subscription.hedge_exchange)
    found = await collect_funding_payments(
        [primary, hedge],
        opened_at=opened_at or subscription.funding_time,
        funding_time=subscription.funding_time,
        expected=expected,
        timeout_seconds=ctx.config.funding_confirm_timeout_seconds,
        poll_interval_seconds=ctx.config.funding_poll_interval_seconds,
        stop=ctx.stop,
    )
    payments = [payment for exchange_payments in found.values() for payment in exchange_payments]
    missing = sorted(exchange for exchange in expected if not found.get(exchange))
    if missing and ctx.stop.is_set():
        return None
    shares = [(payment, await _our_share(ctx, subscription, payment)) for payment in payments]
    total = sum((share for _, share in shares), Decimal(0))
    if missing:
        message = (f"funding payment not seen on {', '.join(missing)} within "
                   f"{ctx.config.funding_confirm_timeout_seconds:g} s; closing anyway")
        await ctx.journal.store_funding(subscription.id, shares, "funding_not_confirmed", message)
        log.warning("funding_not_confirmed", missing=missing)
    else:
        await ctx.journal.store_funding(subscription.id, shares, "funding_confirmed", f"funding {_plain(total)} USDT",
                                        {payment.exchange: str(share) for payment, share in shares})
        log.info("funding_confirmed", total=str(total))
    return payments


async def _our_share(ctx: StepContext, subscription: Subscription, payment: FundingPaymentReport) -> Decimal:
    """One-way accounts net every subscription's position in a symbol and pay funding on the net; each
    subscription's share follows from the positions our own orders held at the funding instant."""
    positions: dict[int, Decimal] = {}
    event = (subscription.funding_time - STAMP_TOLERANCE, subscription.funding_time + STAMP_TOLERANCE)
    for order in await ctx.journal.orders_on(payment.exchange, payment.symbol, event):
        if (order.filled > 0 and order.sent_at is not None
                and ctx.config.exchange_time(payment.exchange, order.sent_at) <= subscription.funding_time):
            signed = order.filled if order.side is OrderSide.BUY else -order.filled
            positions[order.subscription_id] = positions.get(order.subscription_id, Decimal(0)) + signed
    own = positions.get(subscription.id, Decimal(0))
    return share_of_payment(payment.amount, own, sum(positions.values(), Decimal(0)))


async def _hedge_pays_now(ctx: StepContext, subscription: Subscription) -> bool:
    """The hedge exchange settles at the same instant when its schedule matches (both 8 h, say)."""
    for event in reversed(await ctx.journal.events(subscription.id)):
        if event.event == "leverage_synced" and event.details:
            return bool(event.details.get("hedge_pays_at_same_time", True))
    return True


async def completion(ctx: StepContext, subscription: Subscription, note: str | None = None) -> StepResult:
    """CLOSING → COMPLETED with funding received, fees and realized PnL on the row; `note` (why it did not go as
    planned) lands in `error_message`."""
    orders = await ctx.journal.orders(subscription.id)
    payments = await ctx.journal.payments(subscription.id)
    funding = sum((p.amount for p in payments), Decimal(0))
    fees = sum((o.fee or Decimal(0) for o in orders if _in_usdt(o)), Decimal(0))
    other_fees = [f"{o.fee} {o.fee_currency} ({o.exchange})" for o in orders if o.fee and not _in_usdt(o)]
    if other_fees:  # e.g. BNB commission on Binance: not added to a USDT figure
        await ctx.journal.event(subscription.id, "fees_not_in_usdt",
                                "not included in fees and PnL: " + ", ".join(other_fees))
    side = Side(subscription.side)
    legs = [leg for leg in (_closed_leg(orders, Leg.PRIMARY, side), _closed_leg(orders, Leg.HEDGE, side.opposite))
            if leg is not None]
    pnl = realized_pnl(legs, funding, fees)
    price_pnl = sum((leg_price_pnl(leg) for leg in legs), Decimal(0))
    details = {"funding_received": str(funding), "fees": str(fees), "price_pnl": str(price_pnl),
               "realized_pnl": str(pnl)}
    if subscription.estimate_net is not None:  # honest results: what was expected next to what happened
        error = pnl - subscription.estimate_net
        details |= {"estimate_net": str(subscription.estimate_net), "estimate_error": str(error)}
        log.info("estimate_compared", estimate_net=str(subscription.estimate_net), realized_pnl=str(pnl))
    return StepResult(
        Status.COMPLETED, f"funding {_plain(funding)}, fees {_plain(fees)}, realized PnL {_plain(pnl)} USDT",
        "completed", details,
        values={"funding_received": funding, "fees": fees, "price_pnl": price_pnl, "realized_pnl": pnl}, note=note,
    )


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

