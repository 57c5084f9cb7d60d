"""Crash recovery: a subscription found in OPENING or CLOSING at start was interrupted mid-order.

Every order in doubt (PENDING: persisted, maybe sent; SENT; UNKNOWN) is settled on its exchange by the window rule
(`order_lookup.settle`), the rows are brought up to date, `domain/reconcile.py` decides, and the plan is carried
out with the closing step's own reductions: unwind a lone leg (→ ERROR), balance and resume a hedged pair
(→ OPEN, the pipeline then holds and closes it), re-close what a close left (→ COMPLETED), or stop and say which
order could not be looked up (→ NEEDS_ATTENTION). Every step appends a `recovered` event and logs with the
subscription id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.reconcile import (
    Lookup,
    LookupOutcome,
    OrderFact,
    RecoveryPlan,
    plan_recovery,
)
from arbitrage.domain.order_ids import next_attempt
from arbitrage.domain.status import ORDER_IN_DOUBT, Status
from arbitrage.exchanges.connector import ExchangeError, OrderReport, OrderState
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow
from arbitrage.services.closing import reduce_legs
from arbitrage.services.journal import OrderFinding, StepResult
from arbitrage.services.leg_specs import leg_specs
from arbitrage.services.order_lookup import DoubtfulOrder, Verdict, settle
from arbitrage.services.position_reads import check_flat
from arbitrage.services.settlement import completion
from arbitrage.services.step_context import StepContext

log = get_logger(__name__)

_DONE_WITHOUT_FILL = (OrderState.CANCELED, OrderState.REJECTED)


async def recover(ctx: StepContext, subscription: Subscription) -> StepResult:
    """What an interrupted OPENING / CLOSING subscription becomes: OPEN (the pipeline goes on holding and closing
    it), COMPLETED, ERROR or NEEDS_ATTENTION."""
    stage = Status(subscription.status)
    orders = await ctx.journal.orders(subscription.id)
    in_doubt = [order for order in orders if order.status in ORDER_IN_DOUBT]
    log.warning("recovery_started", subscription_id=subscription.id, status=str(stage),
                orders_in_doubt=[order.client_order_id for order in in_doubt])
    answers = await asyncio.gather(*(look_up(ctx, subscription, order) for order in in_doubt))
    lookups = {order.client_order_id: lookup for order, (lookup, _) in zip(in_doubt, answers, strict=True)}
    reports = {order.client_order_id: report for order, (_, report) in zip(in_doubt, answers, strict=True) if report}
    steps = await _steps(ctx, subscription) if stage is Status.OPENING else None
    plan = plan_recovery(stage, [_fact(order) for order in orders], lookups, steps)
    await _store_findings(ctx, subscription, orders, plan, lookups, reports)
    return await _carry_out(ctx, subscription, orders, plan)


def _sent_around(ctx: StepContext, subscription: Subscription) -> datetime:
    """When the orders in doubt went out: open orders at the trigger (OPENING is committed ahead of it), close
    orders right after CLOSING was committed."""
    if subscription.status is Status.OPENING:
        return max(subscription.status_changed_at, ctx.config.trigger_time(subscription))
    return subscription.status_changed_at


async def look_up(ctx: StepContext, subscription: Subscription, order: Order) -> tuple[Lookup, OrderReport | None]:
    """Settle one order in doubt by the window rule (`order_lookup.settle`), the same rule as the live path. A
    row without a send time was persisted and maybe sent by the daemon that stopped: whatever it signed, it
    signed before now. An open went out bound to execute before the entry deadline (its window was cut there),
    so once that has passed its absence is proof at once, not a full window after the restart."""
    try:
        connector = ctx.connector(order.exchange)
    except ExchangeError as error:
        return Lookup.failed(error.user_message), None
    execute_before = ctx.config.entry_deadline(subscription) if order.purpose is OrderPurpose.OPEN else None
    doubt = DoubtfulOrder(order.exchange, order.symbol, order.client_order_id, order.exchange_order_id,
                          connector.executable_until(order.sent_at or utcnow(), execute_before))
    settled = await settle(connector, doubt, "interrupted by a restart")
    report = settled.report
    if settled.verdict is Verdict.NEVER_ARRIVED:
        return Lookup.not_found(), None
    if report is None:
        return Lookup.failed(f"lookup failed: {settled.reason}"), None
    if report.filled > 0 or report.state in _DONE_WITHOUT_FILL:
        return Lookup.found(report.filled), report
    # Accepted, not filled: a market order should not rest, and what it will still fill is unknowable.
    return Lookup.failed(f"accepted but not filled (status {report.raw_status or report.state})"), report


async def _steps(ctx: StepContext, subscription: Subscription) -> dict[Leg, Decimal]:
    """Both legs' amount steps, to balance uneven fills as the pipeline does; empty if the rules are unknown."""
    steps: dict[Leg, Decimal] = {}
    for spec in leg_specs(subscription):
        try:
            steps[spec.leg] = (await ctx.markets.rules(spec.exchange, spec.symbol)).step_size
        except ExchangeError as error:
            log.warning("recovery_step_unknown", subscription_id=subscription.id, exchange=spec.exchange,
                        error=error.user_message)
    return steps


def _fact(order: Order) -> OrderFact:
    return OrderFact(order.client_order_id, order.leg, order.purpose, order.exchange, order.amount, order.status,
                     order.filled, order.error_message)


async def _store_findings(
    ctx: StepContext, subscription: Subscription, orders: Sequence[Order], plan: RecoveryPlan,
    lookups: dict[str, Lookup], reports: dict[str, OrderReport],
) -> None:
    """The looked-up rows as the exchanges tell them, and one `recovered` event listing what was found."""
    rows = {order.client_order_id: order for order in orders}
    found: dict[str, dict[str, str]] = {}
    findings = []
    for update in plan.updates:
        row, report = rows[update.client_order_id], reports.get(update.client_order_id)
        lookup = lookups.get(update.client_order_id)
        executed = lookup is not None and lookup.outcome is LookupOutcome.FOUND
        findings.append(OrderFinding(
            update.client_order_id, update.status, update.filled, update.note,
            exchange_order_id=report.exchange_order_id if report else None,
            average_price=report.average_price if report else None,
            fee=report.fee if report else None, fee_currency=report.fee_currency if report else None,
            # The row was committed just before the request went out; funding shares need a send time.
            sent_at=_sent_around(ctx, subscription) if executed and row.sent_at is None else None,
        ))
        found[update.client_order_id] = {
            "exchange": row.exchange, "lookup": lookup.outcome.value if lookup else "MISSING",
            "status": update.status.value, "filled": str(update.filled),
        }
    details = {
        "status_found": str(subscription.status),
        "orders": found,
        "exposure": {leg.value: str(held) for leg, held in plan.exposure.items()},
        "plan": {"target": plan.target.value, "purpose": plan.purpose.value if plan.purpose else None,
                 "reductions": {r.leg.value: str(r.amount) for r in plan.reductions}},
    }
    summary = ", ".join(f"{cid} {info['status'].lower()} {info['filled']}" for cid, info in found.items())
    await ctx.journal.store_findings(subscription.id, findings,
                                     f"looked up after a restart: {summary or 'no order in doubt'}", details)
    log.warning("recovery_findings", subscription_id=subscription.id, orders=found, exposure=details["exposure"],
                target=plan.target.value, reductions=details["plan"]["reductions"])


async def _carry_out(
    ctx: StepContext, subscription: Subscription, orders: Sequence[Order], plan: RecoveryPlan
) -> StepResult:
    reason = plan.reason
    details = {"exposure": {leg.value: str(held) for leg, held in plan.exposure.items()}}
    if plan.target is Status.NEEDS_ATTENTION:
        return StepResult(Status.NEEDS_ATTENTION, reason, "recovered", details)
    if plan.reductions:
        assert plan.purpose is not None
        done, error = await _send_reductions(ctx, subscription, orders, plan)
        legs = " and ".join(f"{r.leg.lower()} leg" for r in plan.reductions)
        if not done:
            verb = "closing" if plan.purpose is OrderPurpose.CLOSE else "unwinding"
            return StepResult(Status.NEEDS_ATTENTION, f"{reason}; {verb.upper()} the {legs} FAILED: {error}",
                              "recovered", details)
        if plan.target is Status.OPEN:  # balancing an uneven open
            reason += "; " + ", ".join(f"{r.leg.lower()} leg reduced by {r.amount} to match" for r in plan.reductions)
        else:
            reason += f"; {legs} {'closed' if plan.purpose is OrderPurpose.CLOSE else 'unwound'}"
        details["reduced"] = {r.leg.value: str(r.amount) for r in plan.reductions}
    if plan.target is Status.COMPLETED:
        problem = await check_flat(ctx, subscription, leg_specs(subscription))
        if problem:
            return StepResult(Status.NEEDS_ATTENTION, f"{reason}; close failed: {problem}", "recovered", details)
        await ctx.journal.event(subscription.id, "recovered", reason, details)
        log.info("recovered", subscription_id=subscription.id, to=Status.COMPLETED.value, reason=reason)
        return await completion(ctx, subscription)
    return StepResult(plan.target, reason, "recovered", details)


async def _send_reductions(
    ctx: StepContext, subscription: Subscription, orders: Sequence[Order], plan: RecoveryPlan
) -> tuple[bool, str | None]:
    """Reduce-only orders with client ids numbered after every id already used for that leg and purpose."""
    assert plan.purpose is not None
    specs = {spec.leg: spec for spec in leg_specs(subscription)}
    used = [order.client_order_id for order in orders]
    first = max(next_attempt(used, r.leg, plan.purpose) for r in plan.reductions)
    log.warning("recovery_reducing", subscription_id=subscription.id, purpose=plan.purpose.value,
                legs={r.leg.value: str(r.amount) for r in plan.reductions}, first_attempt=first)
    return await reduce_legs(ctx, subscription, plan.purpose, [(specs[r.leg], r.amount) for r in plan.reductions],
                             first)
