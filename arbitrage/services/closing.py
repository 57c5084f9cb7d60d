"""Reduce-only orders: closing both legs, and unwinding or trimming one. A reduction that fails is retried; before
anything is said to have failed, the positions are read again (a late-executing close can have done the job)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import OrderPurpose
from arbitrage.domain.reconcile import open_exposure
from arbitrage.domain.status import Status
from arbitrage.logging import get_logger
from arbitrage.services.clock import sleep_until, utcnow
from arbitrage.services.journal import StepResult
from arbitrage.services.leg_specs import LegSpec, leg_specs
from arbitrage.services.order_execution import LegState, OrderIntent, send_orders
from arbitrage.services.position_reads import check_flat, confirmed_flat
from arbitrage.services.step_context import StepContext
from arbitrage.services.warm_up import warm_up_before, warm_up_lead

log = get_logger(__name__)

# Attempts for a reduce-only order (close or unwind) that failed, and the pauses between them (about 15 s).
REDUCE_ATTEMPTS = 5
REDUCE_BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0)


async def close_legs(ctx: StepContext, subscription: Subscription) -> StepResult | None:
    """Reduce-only on both legs concurrently (the subscription is CLOSING), then both positions checked flat.
    None when flat; otherwise the NEEDS_ATTENTION result."""
    orders = await ctx.journal.orders(subscription.id)
    specs = leg_specs(subscription)
    to_close = [(spec, held) for spec in specs if (held := open_exposure(orders, spec.leg)) > 0]
    if ctx.plan is not None and len(to_close) == 2:  # both legs in one slot of both exchanges' order limits
        connectors = [ctx.connector(spec.exchange) for spec in specs]
        # Not before its warm-ups can be answered: the orders' pool may have been idle since the opens.
        earliest = utcnow() + timedelta(seconds=warm_up_lead(connectors))
        close_at = ctx.plan.close_time((specs[0].exchange, specs[1].exchange), earliest)
        await warm_up_before(close_at, connectors, ctx.stop)
        await sleep_until(close_at)
    closed, error = await reduce_legs(ctx, subscription, OrderPurpose.CLOSE, to_close)
    if not closed and await confirmed_flat(ctx, subscription, [spec for spec, _ in to_close]):
        log.warning("close_confirmed_by_position", error=error)
        closed = True
    if closed:
        error = await check_flat(ctx, subscription, specs)
    if error:
        return StepResult(Status.NEEDS_ATTENTION, f"close failed: {error}", "close_failed")
    return None


async def reduce_legs(
    ctx: StepContext, subscription: Subscription, purpose: OrderPurpose, legs: Sequence[tuple[LegSpec, Decimal]],
    first_attempt: int = 1, *, row_lost: bool = False,
) -> tuple[bool, str | None]:
    """Reduce-only market orders for `legs`, concurrently, retrying what failed; (all done, last error).
    Client order ids are numbered from `first_attempt` (crash recovery continues after the ids already used).
    `row_lost`: the subscription's row is gone or unwritable, yet the daemon holds these legs: orders that cannot
    be recorded first are logged loudly and sent all the same (reduce-only, so they can only close)."""
    if not legs:
        return True, None
    remaining = list(legs)
    error: str | None = None
    for attempt in range(1, REDUCE_ATTEMPTS + 1):
        if attempt > 1:
            await asyncio.sleep(REDUCE_BACKOFF_SECONDS[attempt - 2])
        number = first_attempt + attempt - 1
        intents = [spec.intent(purpose, amount, ctx.client_order_id(subscription, spec.leg, purpose, number))
                   for spec, amount in remaining]
        rows = await _record(ctx, subscription, intents, row_lost)
        outcomes = await send_orders(connectors_for(ctx, intents), intents,
                                     record=ctx.journal.outcome_recorder(rows) if rows is not None else None)
        if rows is None:
            log.error("orders_sent_unrecorded", outcomes={o.intent.client_order_id: f"{o.state} {o.filled}"
                                                          for o in outcomes})
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


async def _record(
    ctx: StepContext, subscription: Subscription, intents: Sequence[OrderIntent], row_lost: bool
) -> list[Order] | None:
    if not row_lost:
        return await ctx.journal.record_orders(subscription.id, intents)
    try:
        return await ctx.journal.record_orders(subscription.id, intents)
    except Exception as error:
        log.error("orders_not_recorded_sent_anyway", client_order_ids=[i.client_order_id for i in intents],
                  error=(str(error).strip().splitlines() or [type(error).__name__])[0][:200])
        return None


def connectors_for(ctx: StepContext, intents: Sequence[OrderIntent]) -> dict:
    return {intent.exchange: ctx.connector(intent.exchange) for intent in intents}
