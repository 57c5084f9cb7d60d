"""Opening, unwinding and closing the two legs. Never a naked leg: if one side fails, the other is closed at once;
if that fails too, the subscription says NEEDS_ATTENTION loudly."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from arbitrage.db import repository as repo
from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.funding import opened_too_late
from arbitrage.domain.reconcile import next_attempt
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow
from arbitrage.services.leg_specs import LegSpec, leg_specs
from arbitrage.services.order_execution import LegState, OrderIntent, SendOutcome, send_orders
from arbitrage.services.position_reads import check_flat, confirmed_flat, open_probe, position_held

if TYPE_CHECKING:
    from arbitrage.services.pipeline import Pipeline

log = get_logger(__name__)

# Attempts for a reduce-only order (close or unwind) that failed, and the pauses between them (about 15 s).
REDUCE_ATTEMPTS = 5
REDUCE_BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0)
# Pauses before sending an open again that provably did not execute (refused unprocessed, or never arrived).
OPEN_RETRY_PAUSES_SECONDS = (0.1, 0.3, 0.6)
# The OPEN transition's event when the primary executed too late to earn the funding: the pipeline closes at once.
OPENED_LATE_EVENT = "opened_late"


@dataclass(frozen=True)
class PendingOpen:
    """The two open orders, committed as PENDING ahead of the trigger so that only the sends happen at it."""

    amount: Decimal
    intents: list[OrderIntent]
    rows: list[Order]


async def record_open_orders(pipeline: Pipeline, subscription: Subscription, amount: Decimal) -> PendingOpen:
    """Persist both open orders (with their client ids) before the trigger. A subscription prepared again after a
    stop numbers its attempts after the unsent ones, so no client id is ever reused."""
    async with pipeline.db.unit_of_work() as session:
        used = [order.client_order_id for order in await repo.orders_for(session, subscription.id)]
        intents = [
            spec.intent(OrderPurpose.OPEN, amount, pipeline.client_order_id(
                subscription, spec.leg, OrderPurpose.OPEN, next_attempt(used, spec.leg, OrderPurpose.OPEN)))
            for spec in leg_specs(subscription)
        ]
        rows = [await _persist(session, subscription.id, intent) for intent in intents]
        await repo.transition(session, subscription, Status.OPENING, event="opening",
                              message=f"{amount} on both legs recorded, to be sent at the trigger",
                              details={"client_order_ids": [intent.client_order_id for intent in intents]})
    return PendingOpen(amount, intents, rows)


async def release_unsent(pipeline: Pipeline, pending: PendingOpen, reason: str) -> None:
    """These orders were never sent (shutdown, deadline, a changed row): say so on their rows. Best effort: rows
    left PENDING under SYNCING_LEVERAGE are known unsent anyway (orders only go out after OPENING is committed)."""
    try:
        await _mark_not_sent(pipeline, pending.rows, f"not sent: {reason}")
    except Exception:
        log.exception("unsent_orders_not_released")


async def open_legs(pipeline: Pipeline, subscription: Subscription, pending: PendingOpen) -> bool:
    """At the trigger: both recorded orders go out at once (nothing else happens first), each bound to execute
    before the entry deadline. A leg that provably did not execute is sent again while the deadline allows.
    Returns True when both legs are OPEN; otherwise the subscription ends ERROR or NEEDS_ATTENTION."""
    intents = pending.intents
    specs = leg_specs(subscription)
    deadline = pipeline.config.entry_deadline(subscription)
    probes = {intent.client_order_id: open_probe(pipeline, subscription, spec)
              for spec, intent in zip(specs, intents, strict=True)}
    outcomes = await send_orders(_connectors(pipeline, intents), intents, execute_before=deadline, probes=probes)
    await _record(pipeline, pending.rows, outcomes)
    log.info("legs_sent", gap_ms=_gap_ms(outcomes), states=[o.state.value for o in outcomes])
    if any(o.may_send_again for o in outcomes):
        outcomes = list(await asyncio.gather(*(
            _open_again(pipeline, subscription, spec, outcome) for spec, outcome in zip(specs, outcomes, strict=True)
        )))
    if all(o.state is LegState.FILLED for o in outcomes):
        return await _balance_and_open(pipeline, subscription, specs, outcomes)
    reason = "; ".join(f"{o.intent.leg.lower()} order failed: {o.error}" for o in outcomes
                       if o.state is not LegState.FILLED)
    await _unwind_failed_open(pipeline, subscription, specs, outcomes, reason)
    return False


async def _open_again(
    pipeline: Pipeline, subscription: Subscription, spec: LegSpec, outcome: SendOutcome
) -> SendOutcome:
    """Send an open that provably did not execute again, with the next attempt's client id, while the entry
    deadline allows (the exchange refuses it past the deadline: its window never reaches beyond it)."""
    deadline = pipeline.config.entry_deadline(subscription)
    for pause in OPEN_RETRY_PAUSES_SECONDS:
        if not outcome.may_send_again:
            break
        if utcnow() + timedelta(seconds=pause) >= deadline:
            log.warning("open_not_sent_again", exchange=spec.exchange, reason="entry deadline",
                        client_order_id=outcome.intent.client_order_id)
            break
        await asyncio.sleep(pause)
        async with pipeline.db.unit_of_work() as session:
            used = [order.client_order_id for order in await repo.orders_for(session, subscription.id)]
            intent = spec.intent(OrderPurpose.OPEN, outcome.intent.amount, pipeline.client_order_id(
                subscription, spec.leg, OrderPurpose.OPEN, next_attempt(used, spec.leg, OrderPurpose.OPEN)))
            row = await _persist(session, subscription.id, intent)
        log.warning("open_sent_again", exchange=spec.exchange, client_order_id=intent.client_order_id,
                    previous=outcome.intent.client_order_id, reason=outcome.error)
        probe = open_probe(pipeline, subscription, spec)
        connectors = _connectors(pipeline, [intent])
        outcome = (await send_orders(connectors, [intent], execute_before=deadline,
                                     probes={intent.client_order_id: probe}))[0]
        await _record(pipeline, [row], [outcome])
    return outcome


async def _balance_and_open(
    pipeline: Pipeline, subscription: Subscription, specs: Sequence[LegSpec], outcomes: Sequence[SendOutcome]
) -> bool:
    """Both legs filled; if unevenly (a partial fill), reduce the larger one so the hedge is exact."""
    primary, hedge = outcomes
    difference = primary.filled - hedge.filled
    details: dict = {"filled": {o.intent.leg.value: str(o.filled) for o in outcomes}, "gap_ms": _gap_ms(outcomes)}
    if difference:
        larger = specs[0] if difference > 0 else specs[1]
        step = (await pipeline.markets.rules(larger.exchange, larger.symbol)).step_size
        excess = abs(difference) // step * step
        if excess > 0:
            balanced, error = await reduce_legs(pipeline, subscription, OrderPurpose.UNWIND, [(larger, excess)])
            if not balanced:
                await pipeline.transition(
                    subscription, Status.NEEDS_ATTENTION,
                    f"legs filled unevenly ({primary.filled} vs {hedge.filled}) and reducing the {larger.leg.lower()} "
                    f"leg on {larger.exchange} by {excess} failed: {error}", event="open_unbalanced")
                return False
            details["reduced"] = {larger.leg.value: str(excess)}
        if abs(difference) > excess:  # below the exchange's step: cannot be traded away, so it is recorded
            details["unhedged"] = str(abs(difference) - excess)
    late = _opened_too_late(pipeline, subscription, primary)
    if late:
        details["opened_late"] = late
        log.error("opened_too_late", exchange=primary.intent.exchange, client_order_id=primary.intent.client_order_id,
                  reason=late)
    await pipeline.transition(subscription, Status.OPEN, f"both legs filled; {late}" if late else "both legs filled",
                              event=OPENED_LATE_EVENT if late else "opened", details=details)
    return True


def _opened_too_late(pipeline: Pipeline, subscription: Subscription, primary: SendOutcome) -> str | None:
    """Why the primary's position earns nothing at this funding (it executed at or past the exchange's cutoff),
    or None. Orders carry windows that end at the entry deadline, so only an exchange that executes an order
    outside its window gets here."""
    executed_at = primary.report.executed_at if primary.report is not None else None
    exchange = primary.intent.exchange
    min_lead = pipeline.config.min_lead_seconds.get(exchange, 0)
    if executed_at is None or not opened_too_late(executed_at, subscription.funding_time, min_lead):
        return None
    return (f"the primary executed on {exchange} at {executed_at.isoformat()}, too late for the funding at "
            f"{subscription.funding_time.isoformat()}: closing at once, no funding is earned")


async def _unwind_failed_open(
    pipeline: Pipeline, subscription: Subscription, specs: Sequence[LegSpec], outcomes: Sequence[SendOutcome],
    reason: str,
) -> None:
    """Close whatever the open left behind: the filled legs, and an unknown leg that the exchange's position
    shows did execute. ERROR when nothing is left, NEEDS_ATTENTION (loudly) otherwise."""
    targets = [(spec, o.filled) for spec, o in zip(specs, outcomes, strict=True) if o.state is LegState.FILLED]
    unresolved: list[str] = []
    for spec, outcome in zip(specs, outcomes, strict=True):
        if outcome.state is LegState.UNKNOWN:
            held, problem = await _held_by_unknown_leg(pipeline, subscription, spec, outcome)
            if problem:
                unresolved.append(problem)
            elif held > 0:
                targets.append((spec, held))
    if not targets and not unresolved:
        await pipeline.transition(subscription, Status.ERROR, reason, event="open_failed")
        return
    unwound, unwind_error = await reduce_legs(pipeline, subscription, OrderPurpose.UNWIND, targets)
    if not unwound and not await confirmed_flat(pipeline, subscription, [spec for spec, _ in targets]):
        unresolved.append(f"UNWIND FAILED: {unwind_error}")
    if unresolved:
        await pipeline.transition(subscription, Status.NEEDS_ATTENTION, f"{reason}; {'; '.join(unresolved)}",
                                  event="unwind_failed")
        return
    legs = " and ".join(f"{spec.leg.lower()} leg" for spec, _ in targets)
    await pipeline.transition(subscription, Status.ERROR, f"{reason}; {legs} unwound", event="unwound")


async def _held_by_unknown_leg(
    pipeline: Pipeline, subscription: Subscription, spec: LegSpec, outcome: SendOutcome
) -> tuple[Decimal, str | None]:
    """What the exchange shows for a leg whose order could not be looked up: (amount to unwind, problem)."""
    held, problem = await position_held(pipeline, subscription, spec)
    if problem:
        return Decimal(0), f"{problem}: check order {outcome.intent.client_order_id} on {spec.exchange}"
    return min(held, outcome.intent.amount), None


async def close_legs(pipeline: Pipeline, subscription: Subscription) -> bool:
    """OPEN → CLOSING, reduce-only on both legs concurrently, then both positions checked flat. True when flat."""
    async with pipeline.db.unit_of_work() as session:
        stored = await repo.require_subscription(session, subscription.id)
        await repo.transition(session, stored, Status.CLOSING, event="closing", message="closing both legs")
        orders = await repo.orders_for(session, subscription.id)
    subscription.status = Status.CLOSING
    specs = leg_specs(subscription)
    to_close = [(spec, held) for spec in specs if (held := open_exposure(orders, spec.leg)) > 0]
    closed, error = await reduce_legs(pipeline, subscription, OrderPurpose.CLOSE, to_close)
    if not closed and await confirmed_flat(pipeline, subscription, [spec for spec, _ in to_close]):
        log.warning("close_confirmed_by_position", error=error)
        closed = True
    if closed:
        error = await check_flat(pipeline, subscription, specs)
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


async def reduce_legs(
    pipeline: Pipeline, subscription: Subscription, purpose: OrderPurpose, legs: list[tuple[LegSpec, Decimal]],
    first_attempt: int = 1,
) -> tuple[bool, str | None]:
    """Reduce-only market orders for `legs`, concurrently, retrying what failed; (all done, last error).
    Client order ids are numbered from `first_attempt` (crash recovery continues after the ids already used)."""
    if not legs:
        return True, None
    remaining = list(legs)
    error: str | None = None
    for attempt in range(1, REDUCE_ATTEMPTS + 1):
        if attempt > 1:
            await asyncio.sleep(REDUCE_BACKOFF_SECONDS[attempt - 2])
        number = first_attempt + attempt - 1
        intents = [spec.intent(purpose, amount, pipeline.client_order_id(subscription, spec.leg, purpose, number))
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


async def _persist(session, subscription_id: int, intent: OrderIntent) -> Order:
    return await repo.add_order(
        session, subscription_id=subscription_id, leg=intent.leg, purpose=intent.purpose, exchange=intent.exchange,
        symbol=intent.symbol, side=intent.side, amount=intent.amount, client_order_id=intent.client_order_id,
    )


async def _mark_not_sent(pipeline: Pipeline, rows: Sequence[Order], reason: str) -> None:
    async with pipeline.db.unit_of_work() as session:
        for row in rows:
            await repo.update_order(session, await session.merge(row), status=OrderStatus.FAILED, error_message=reason)


async def _record(pipeline: Pipeline, rows: Sequence[Order], outcomes: Sequence[SendOutcome]) -> None:
    """Store what the exchanges answered. A database failure here must not stop the unwind decisions that
    follow (they use the outcomes in memory), so it is logged loudly instead of raised."""
    try:
        await _record_outcomes(pipeline, rows, outcomes)
    except Exception:
        log.exception("orders_not_recorded", client_order_ids=[row.client_order_id for row in rows])


async def _record_outcomes(pipeline: Pipeline, rows: Sequence[Order], outcomes: Sequence[SendOutcome]) -> None:
    async with pipeline.db.unit_of_work() as session:
        for row, outcome in zip(rows, outcomes, strict=True):
            stored = await session.merge(row)
            report = outcome.report
            await repo.update_order(
                session, stored, status=outcome.order_status,
                exchange_order_id=outcome.exchange_order_id,
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
