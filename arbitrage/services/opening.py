"""Opening both legs. Never a naked leg: if one side fails, the other is closed at once; if that fails too, the
subscription says NEEDS_ATTENTION loudly.

The open orders are recorded (PENDING, with their client ids) together with OPENING ahead of the trigger; at the
trigger both go out at once, each bound to execute before the entry deadline. A leg that provably did not
execute is sent again while the deadline allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import OrderPurpose
from arbitrage.domain.funding import opened_too_late
from arbitrage.domain.order_ids import next_attempt
from arbitrage.domain.status import Status
from arbitrage.logging import get_logger
from arbitrage.ops.metrics import observe_open_wire
from arbitrage.services.clock import utcnow
from arbitrage.services.closing import connectors_for, reduce_legs
from arbitrage.services.journal import StepResult
from arbitrage.services.leg_specs import LegSpec, leg_specs
from arbitrage.services.order_execution import LegState, OrderIntent, SendOutcome, send_orders
from arbitrage.services.position_reads import confirmed_flat, open_probe, position_held
from arbitrage.services.step_context import StepContext

log = get_logger(__name__)

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


async def record_open_orders(
    ctx: StepContext, subscription: Subscription, amount: Decimal, trigger: datetime | None = None
) -> PendingOpen:
    """Persist both open orders (with their client ids) and OPENING before the trigger (its planned time goes in
    the event). A subscription prepared again after a stop numbers its attempts after the unsent ones, so no
    client id is ever reused."""
    used = [order.client_order_id for order in await ctx.journal.orders(subscription.id)]
    intents = [
        spec.intent(OrderPurpose.OPEN, amount, ctx.client_order_id(
            subscription, spec.leg, OrderPurpose.OPEN, next_attempt(used, spec.leg, OrderPurpose.OPEN)))
        for spec in leg_specs(subscription)
    ]
    details = {"client_order_ids": [intent.client_order_id for intent in intents]}
    if trigger is not None:
        details["trigger_at"] = trigger.isoformat()
    rows = await ctx.journal.record_opening(
        subscription, intents, f"{amount} on both legs recorded, to be sent at the trigger", details)
    return PendingOpen(amount, intents, rows)


async def release_unsent(ctx: StepContext, pending: PendingOpen, reason: str) -> None:
    """These orders were never sent (shutdown, deadline, a changed row): say so on their rows. Best effort: rows
    left PENDING under SYNCING_LEVERAGE are known unsent anyway (orders only go out after OPENING is committed)."""
    try:
        await ctx.journal.mark_not_sent(pending.rows, f"not sent: {reason}")
    except Exception:
        log.exception("unsent_orders_not_released")


async def open_legs(
    ctx: StepContext, subscription: Subscription, pending: PendingOpen, trigger: datetime | None = None
) -> StepResult:
    """At the trigger: both recorded orders go out at once (nothing else happens first). The result is OPEN when
    both legs filled; otherwise ERROR (nothing left open) or NEEDS_ATTENTION. Timings are taken where the requests
    were written, after the request budget: the gap between the legs and, from `trigger`, the lateness."""
    intents = pending.intents
    specs = leg_specs(subscription)
    deadline = ctx.config.entry_deadline(subscription)
    probes = {intent.client_order_id: open_probe(ctx, subscription, spec)
              for spec, intent in zip(specs, intents, strict=True)}
    outcomes = await send_orders(connectors_for(ctx, intents), intents, execute_before=deadline, probes=probes,
                                 record=ctx.journal.outcome_recorder(pending.rows))
    wire = {"gap_ms": gap_ms(outcomes)}
    if trigger is not None:
        wire["trigger_lateness_ms"] = round((min(o.sent_at for o in outcomes) - trigger).total_seconds() * 1000, 3)
    log.info("legs_sent", **wire, states=[o.state.value for o in outcomes])
    observe_open_wire(wire["gap_ms"], wire.get("trigger_lateness_ms"))
    if any(o.may_send_again for o in outcomes):
        outcomes = list(await asyncio.gather(*(
            _open_again(ctx, subscription, spec, outcome) for spec, outcome in zip(specs, outcomes, strict=True)
        )))
    if all(o.state is LegState.FILLED for o in outcomes):
        return await _balance(ctx, subscription, specs, outcomes, wire)
    reason = "; ".join(f"{o.intent.leg.lower()} order failed: {o.error}" for o in outcomes
                       if o.state is not LegState.FILLED)
    return await _unwind_failed_open(ctx, subscription, specs, outcomes, reason)


async def _open_again(ctx: StepContext, subscription: Subscription, spec: LegSpec, outcome: SendOutcome) -> SendOutcome:
    """Send an open that provably did not execute again, with the next attempt's client id, while the entry
    deadline allows (the exchange refuses it past the deadline: its window never reaches beyond it)."""
    deadline = ctx.config.entry_deadline(subscription)  # the exchanges' clocks: what the order carries
    for pause in OPEN_RETRY_PAUSES_SECONDS:
        if not outcome.may_send_again:
            break
        if utcnow() + timedelta(seconds=pause) >= ctx.config.local_entry_deadline(subscription):
            log.warning("open_not_sent_again", exchange=spec.exchange, reason="entry deadline",
                        client_order_id=outcome.intent.client_order_id)
            break
        await asyncio.sleep(pause)
        used = [order.client_order_id for order in await ctx.journal.orders(subscription.id)]
        intent = spec.intent(OrderPurpose.OPEN, outcome.intent.amount, ctx.client_order_id(
            subscription, spec.leg, OrderPurpose.OPEN, next_attempt(used, spec.leg, OrderPurpose.OPEN)))
        [row] = await ctx.journal.record_orders(subscription.id, [intent])
        log.warning("open_sent_again", exchange=spec.exchange, client_order_id=intent.client_order_id,
                    previous=outcome.intent.client_order_id, reason=outcome.error)
        probes = {intent.client_order_id: open_probe(ctx, subscription, spec)}
        [outcome] = await send_orders(connectors_for(ctx, [intent]), [intent], execute_before=deadline, probes=probes)
        await ctx.journal.record_outcomes([row], [outcome])
    return outcome


async def _balance(
    ctx: StepContext, subscription: Subscription, specs: Sequence[LegSpec], outcomes: Sequence[SendOutcome],
    wire: dict[str, float],
) -> StepResult:
    """Both legs filled; if unevenly (a partial fill), reduce the larger one so the hedge is exact."""
    primary, hedge = outcomes
    difference = primary.filled - hedge.filled
    details: dict = {"filled": {o.intent.leg.value: str(o.filled) for o in outcomes}, **wire}
    if difference:
        larger = specs[0] if difference > 0 else specs[1]
        step = (await ctx.markets.rules(larger.exchange, larger.symbol)).step_size
        excess = abs(difference) // step * step
        if excess > 0:
            balanced, error = await reduce_legs(ctx, subscription, OrderPurpose.UNWIND, [(larger, excess)])
            if not balanced:
                return StepResult(
                    Status.NEEDS_ATTENTION,
                    f"legs filled unevenly ({primary.filled} vs {hedge.filled}) and reducing the {larger.leg.lower()} "
                    f"leg on {larger.exchange} by {excess} failed: {error}", "open_unbalanced")
            details["reduced"] = {larger.leg.value: str(excess)}
        if abs(difference) > excess:  # below the exchange's step: cannot be traded away, so it is recorded
            details["unhedged"] = str(abs(difference) - excess)
    late = _opened_too_late(ctx, subscription, primary)
    if late:
        details["opened_late"] = late
        log.error("opened_too_late", exchange=primary.intent.exchange, client_order_id=primary.intent.client_order_id,
                  reason=late)
        return StepResult(Status.OPEN, f"both legs filled; {late}", OPENED_LATE_EVENT, details)
    return StepResult(Status.OPEN, "both legs filled", "opened", details)


def _opened_too_late(ctx: StepContext, subscription: Subscription, primary: SendOutcome) -> str | None:
    """Why the primary's position earns nothing at this funding (it executed at or past the exchange's cutoff),
    or None. Orders carry windows that end at the entry deadline, so only an exchange that executes an order
    outside its window gets here."""
    executed_at = primary.report.executed_at if primary.report is not None else None
    exchange = primary.intent.exchange
    min_lead = ctx.config.min_lead_seconds.get(exchange, 0)
    if executed_at is None or not opened_too_late(executed_at, subscription.funding_time, min_lead):
        return None
    return (f"the primary executed on {exchange} at {executed_at.isoformat()}, too late for the funding at "
            f"{subscription.funding_time.isoformat()}: closing at once, no funding is earned")


async def _unwind_failed_open(
    ctx: StepContext, subscription: Subscription, specs: Sequence[LegSpec], outcomes: Sequence[SendOutcome],
    reason: str,
) -> StepResult:
    """Close whatever the open left behind: the filled legs, and an unknown leg that the exchange's position
    shows did execute. ERROR when nothing is left, NEEDS_ATTENTION (loudly) otherwise."""
    targets = [(spec, o.filled) for spec, o in zip(specs, outcomes, strict=True) if o.state is LegState.FILLED]
    unresolved: list[str] = []
    for spec, outcome in zip(specs, outcomes, strict=True):
        if outcome.state is LegState.UNKNOWN:
            held, problem = await position_held(ctx, subscription, spec)
            if problem:
                unresolved.append(f"{problem}: check order {outcome.intent.client_order_id} on {spec.exchange}")
            elif held > 0:
                targets.append((spec, min(held, outcome.intent.amount)))
    if not targets and not unresolved:
        return StepResult(Status.ERROR, reason, "open_failed")
    unwound, unwind_error = await reduce_legs(ctx, subscription, OrderPurpose.UNWIND, targets)
    if not unwound and not await confirmed_flat(ctx, subscription, [spec for spec, _ in targets]):
        unresolved.append(f"UNWIND FAILED: {unwind_error}")
    if unresolved:
        return StepResult(Status.NEEDS_ATTENTION, f"{reason}; {'; '.join(unresolved)}", "unwind_failed")
    legs = " and ".join(f"{spec.leg.lower()} leg" for spec, _ in targets)
    return StepResult(Status.ERROR, f"{reason}; {legs} unwound", "unwound")


def gap_ms(outcomes: Sequence[SendOutcome]) -> float:
    """Between the two legs' requests as they were written to their connections (after the budget), in ms."""
    if len(outcomes) < 2:
        return 0.0
    times = [o.sent_at for o in outcomes]
    return round((max(times) - min(times)).total_seconds() * 1000, 3)
