"""Opening, unwinding and closing the two legs. Never a naked leg: if one side fails, the other is closed at once;
if that fails too, the subscription says NEEDS_ATTENTION loudly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from arbitrage.db import repository as repo
from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.exchanges.connector import ExchangeError
from arbitrage.logging import get_logger
from arbitrage.services.order_execution import LegState, OrderIntent, SendOutcome, send_orders

if TYPE_CHECKING:
    from arbitrage.services.pipeline import Pipeline

log = get_logger(__name__)

# Attempts for a reduce-only order (close or unwind) that failed for a reason worth repeating.
REDUCE_ATTEMPTS = 3


@dataclass(frozen=True)
class LegSpec:
    leg: Leg
    exchange: str
    symbol: str
    side: Side  # the position side this leg holds

    def intent(self, purpose: OrderPurpose, amount: Decimal, client_order_id: str) -> OrderIntent:
        opening = purpose is OrderPurpose.OPEN
        order_side = self.side.opening_order_side if opening else self.side.closing_order_side
        return OrderIntent(
            leg=self.leg, purpose=purpose, exchange=self.exchange, symbol=self.symbol, side=order_side,
            amount=amount, client_order_id=client_order_id, reduce_only=not opening, position_side=self.side.value,
        )


def leg_specs(subscription: Subscription) -> tuple[LegSpec, LegSpec]:
    side = Side(subscription.side)
    return (
        LegSpec(Leg.PRIMARY, subscription.primary_exchange, subscription.primary_symbol, side),
        LegSpec(Leg.HEDGE, subscription.hedge_exchange, subscription.hedge_symbol, side.opposite),
    )


async def open_legs(pipeline: Pipeline, subscription: Subscription, amount: Decimal) -> bool:
    """OPENING → OPEN with both legs filled; or ERROR / NEEDS_ATTENTION. Returns True when OPEN."""
    specs = leg_specs(subscription)
    intents = [s.intent(OrderPurpose.OPEN, amount, pipeline.client_order_id(subscription, s.leg, OrderPurpose.OPEN))
               for s in specs]
    async with pipeline.db.unit_of_work() as session:
        stored = await repo.require_subscription(session, subscription.id)
        await repo.transition(session, stored, Status.OPENING, event="opening",
                              message=f"sending {amount} on both legs")
        rows = [await _persist(session, subscription.id, intent) for intent in intents]
    subscription.status = Status.OPENING
    outcomes = await send_orders(_connectors(pipeline, intents), intents)
    await _record(pipeline, rows, outcomes)
    log.info("legs_sent", gap_ms=_gap_ms(outcomes), states=[o.state.value for o in outcomes])

    if all(o.state is LegState.FILLED for o in outcomes):
        fills = {o.intent.leg.value: str(o.filled) for o in outcomes}
        await pipeline.transition(subscription, Status.OPEN, "both legs filled", event="opened",
                                   details={"filled": fills, "gap_ms": _gap_ms(outcomes)})
        return True

    failed = [o for o in outcomes if o.state is not LegState.FILLED]
    reason = "; ".join(f"{o.intent.leg.lower()} order failed: {o.error}" for o in failed)
    if any(o.state is LegState.UNKNOWN for o in outcomes):
        await pipeline.transition(subscription, Status.NEEDS_ATTENTION, f"{reason}; exposure may remain",
                                   event="open_failed")
        return False
    filled = [o for o in outcomes if o.state is LegState.FILLED]
    if not filled:
        await pipeline.transition(subscription, Status.ERROR, reason, event="open_failed")
        return False
    unwound, unwind_error = await _reduce(pipeline, subscription, OrderPurpose.UNWIND,
                                          [(spec, o.filled) for spec, o in zip(specs, outcomes, strict=True)
                                           if o.state is LegState.FILLED])
    if unwound:
        legs = " and ".join(f"{o.intent.leg.lower()} leg" for o in filled)
        await pipeline.transition(subscription, Status.ERROR, f"{reason}; {legs} unwound", event="unwound")
    else:
        await pipeline.transition(subscription, Status.NEEDS_ATTENTION, f"{reason}; UNWIND FAILED: {unwind_error}",
                                   event="unwind_failed")
    return False


async def close_legs(pipeline: Pipeline, subscription: Subscription) -> bool:
    """OPEN → CLOSING, reduce-only on both legs concurrently, then both positions checked flat. True when flat."""
    async with pipeline.db.unit_of_work() as session:
        stored = await repo.require_subscription(session, subscription.id)
        await repo.transition(session, stored, Status.CLOSING, event="closing", message="closing both legs")
        orders = await repo.orders_for(session, subscription.id)
    subscription.status = Status.CLOSING
    specs = leg_specs(subscription)
    to_close = [(spec, held) for spec in specs if (held := open_exposure(orders, spec.leg)) > 0]
    closed, error = await _reduce(pipeline, subscription, OrderPurpose.CLOSE, to_close)
    if closed:
        error = await _check_flat(pipeline, subscription, specs)
    if error:
        await pipeline.transition(subscription, Status.NEEDS_ATTENTION, f"close failed: {error}",
                                   event="close_failed")
        return False
    return True


def open_exposure(orders: Sequence[Order], leg: Leg) -> Decimal:
    """What a leg holds according to our own orders: filled opens minus filled closes and unwinds."""
    held = Decimal(0)
    for order in orders:
        if order.leg is leg:
            held += order.filled if order.purpose is OrderPurpose.OPEN else -order.filled
    return held


async def _reduce(
    pipeline: Pipeline, subscription: Subscription, purpose: OrderPurpose, legs: list[tuple[LegSpec, Decimal]]
) -> tuple[bool, str | None]:
    """Reduce-only market orders for `legs`, concurrently, retrying what failed; (all done, last error)."""
    remaining = list(legs)
    error: str | None = None
    for attempt in range(1, REDUCE_ATTEMPTS + 1):
        intents = [spec.intent(purpose, amount, pipeline.client_order_id(subscription, spec.leg, purpose, attempt))
                   for spec, amount in remaining]
        async with pipeline.db.unit_of_work() as session:
            rows = [await _persist(session, subscription.id, intent) for intent in intents]
        outcomes = await send_orders(_connectors(pipeline, intents), intents)
        await _record(pipeline, rows, outcomes)
        next_round = []
        for (spec, amount), outcome in zip(remaining, outcomes, strict=True):
            if outcome.state is LegState.UNKNOWN:
                return False, outcome.error
            left = amount - outcome.filled
            if left > 0:
                next_round.append((spec, left))
                error = outcome.error or f"{spec.exchange}: only {outcome.filled} of {amount} filled"
        if not next_round:
            return True, None
        remaining = next_round
        log.warning("reduce_retry", purpose=purpose.value, attempt=attempt, error=error)
    return False, error


async def _check_flat(pipeline: Pipeline, subscription: Subscription, specs: Sequence[LegSpec]) -> str | None:
    """After the closes filled: is anything left? A residual position is ours unless another active subscription
    trades the same exchange and symbol (one-way accounts net them), in which case it is noted, not escalated."""
    problems = []
    for spec in specs:
        try:
            positions = await pipeline.connectors.get(spec.exchange).fetch_positions(spec.symbol)
        except ExchangeError as error:
            problems.append(f"could not verify {spec.exchange} is flat: {error.user_message}")
            continue
        for position in positions:
            residual = f"{spec.exchange} still holds {position.side} {position.amount} {spec.symbol}"
            sharing = await _other_active_subscriptions(pipeline, subscription, spec)
            if not sharing:
                problems.append(residual)
                continue
            async with pipeline.db.unit_of_work() as session:
                await repo.add_event(session, subscription.id, "position_shared",
                                     message=f"{residual}; it belongs to subscription(s) {sharing}")
    return "; ".join(problems) or None


async def _other_active_subscriptions(pipeline: Pipeline, subscription: Subscription, spec: LegSpec) -> list[int]:
    async with pipeline.db.unit_of_work() as session:
        active = await repo.list_subscriptions(session, (Status.OPENING, Status.OPEN, Status.CLOSING))
    return [
        other.id for other in active
        if other.id != subscription.id
        and (spec.exchange, spec.symbol) in {(other.primary_exchange, other.primary_symbol),
                                             (other.hedge_exchange, other.hedge_symbol)}
    ]


async def _persist(session, subscription_id: int, intent: OrderIntent) -> Order:
    return await repo.add_order(
        session, subscription_id=subscription_id, leg=intent.leg, purpose=intent.purpose, exchange=intent.exchange,
        symbol=intent.symbol, side=intent.side, amount=intent.amount, client_order_id=intent.client_order_id,
    )


async def _record(pipeline: Pipeline, rows: Sequence[Order], outcomes: Sequence[SendOutcome]) -> None:
    async with pipeline.db.unit_of_work() as session:
        for row, outcome in zip(rows, outcomes, strict=True):
            stored = await session.merge(row)
            report = outcome.report
            await repo.update_order(
                session, stored, status=outcome.order_status,
                exchange_order_id=report.exchange_order_id if report else None,
                filled=outcome.filled, average_price=report.average_price if report else None,
                fee=report.fee if report else None, fee_currency=report.fee_currency if report else None,
                error_message=outcome.error, sent_at=outcome.sent_at, acknowledged_at=outcome.acknowledged_at,
            )
            if outcome.order_status is OrderStatus.UNKNOWN:
                log.error("order_state_unknown", exchange=row.exchange, client_order_id=row.client_order_id)


def _connectors(pipeline: Pipeline, intents: Sequence[OrderIntent]) -> dict:
    return {intent.exchange: pipeline.connectors.get(intent.exchange) for intent in intents}


def _gap_ms(outcomes: Sequence[SendOutcome]) -> float:
    if len(outcomes) < 2:
        return 0.0
    times = [o.sent_at for o in outcomes]
    return round((max(times) - min(times)).total_seconds() * 1000, 3)
