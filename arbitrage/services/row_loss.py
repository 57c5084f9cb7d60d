"""When a subscription's row changes under the daemon: its status set by hand to a value the daemon does not know
(or to one it cannot come from), a column edited into garbage, the row deleted, or the database unwritable past
its retries.

Legs the daemon opened are never left without an owner: the daemon holds the subscription as it loaded it and the
order rows as it last read them, closes the legs on schedule (at the funding time) from those, and writes
NEEDS_ATTENTION by the row's id alone, with an ERROR log line. A row that held nothing is reported (an ERROR line
and an event), never treated like a cancel.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from arbitrage.db import raw_rows
from arbitrage.db import repository as repo
from arbitrage.db.models import Order, Subscription
from arbitrage.domain import OrderPurpose
from arbitrage.domain.order_ids import next_attempt
from arbitrage.domain.reconcile import open_exposure
from arbitrage.domain.status import Status
from arbitrage.logging import get_logger
from arbitrage.services.clock import sleep_until
from arbitrage.services.closing import reduce_legs
from arbitrage.services.journal import database_unavailable
from arbitrage.services.leg_specs import leg_specs
from arbitrage.services.position_reads import check_flat, confirmed_flat
from arbitrage.services.step_context import StepContext

log = get_logger(__name__)

CHANGED_EVENT = "row_changed"


def is_row_loss(error: BaseException) -> bool:
    """The row changed under the pipeline (or the database stayed unwritable): not a bug of a step."""
    return isinstance(error, repo.StatusConflict | repo.SubscriptionNotFound | raw_rows.UnreadableSubscription) or (
        database_unavailable(error))


async def what_changed(ctx: StepContext, subscription_id: int, error: BaseException) -> str:
    """One line for the operator: what happened to the row."""
    if isinstance(error, raw_rows.UnreadableSubscription):
        if error.raw_status is not None:
            return f"its status was set outside the daemon to {error.raw_status}, a value the daemon does not know"
        shown = ", ".join(f"{column}={value}" for column, value in error.problems.items())
        return f"it was edited outside the daemon into values it cannot read ({shown})"
    if isinstance(error, repo.SubscriptionNotFound):
        return "its row was deleted outside the daemon"
    if database_unavailable(error):
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        return f"the database could not be written ({type(error).__name__}: {first})"
    try:
        stored = await ctx.journal.raw_status(subscription_id)
    except Exception:
        stored = None
    if stored is None:
        return "its row was deleted outside the daemon"
    if not raw_rows.is_known_status(stored):
        return f"its status was set outside the daemon to {stored!r}, a value the daemon does not know"
    return f"its status was changed outside the daemon to {stored}"


async def held_orders(ctx: StepContext, subscription_id: int, snapshot: Sequence[Order]) -> list[Order]:
    """The order rows as stored now, or the ones last read when they are gone or cannot be read."""
    try:
        stored = await ctx.journal.orders(subscription_id)
    except Exception:
        stored = []
    return stored if len(stored) >= len(snapshot) else list(snapshot)


def exposure_of(orders: Sequence[Order], subscription: Subscription) -> dict[str, Decimal]:
    return {f"{spec.leg.lower()} on {spec.exchange}": held for spec in leg_specs(subscription)
            if (held := open_exposure(orders, spec.leg)) > 0}


async def take_over(ctx: StepContext, subscription: Subscription, snapshot: Sequence[Order],
                    error: BaseException) -> None:
    """The pipeline's answer to a changed row: close what the daemon holds on schedule and say so by id."""
    what = await what_changed(ctx, subscription.id, error)
    orders = await held_orders(ctx, subscription.id, snapshot)
    held = exposure_of(orders, subscription)
    if not held:
        log.error("subscription_changed_elsewhere", subscription_id=subscription.id, reason=what, held="nothing")
        await ctx.journal.note(subscription.id, CHANGED_EVENT, f"{what}; the daemon held no position for it and "
                               "stopped driving it")
        return
    if await _left_to_a_human(ctx, subscription.id):
        log.error("subscription_changed_elsewhere", subscription_id=subscription.id, reason=what,
                  held={leg: str(amount) for leg, amount in held.items()}, action="left to the operator")
        return
    legs = ", ".join(f"{leg} {amount}" for leg, amount in held.items())
    log.error("subscription_changed_while_holding", subscription_id=subscription.id, reason=what, held=legs,
              close_at=subscription.funding_time.isoformat())
    if not await sleep_until(subscription.funding_time, ctx.stop):
        await ctx.journal.flag_needs_attention(
            subscription.id, f"{what} while the daemon held {legs}; it stopped before the funding time and "
            "does not resume a changed row: close these positions by hand", event=CHANGED_EVENT, known=subscription)
        return
    problem = await close_held(ctx, subscription, orders)
    outcome = "both legs were closed on schedule (flat)" if problem is None else f"CLOSING FAILED: {problem}"
    await ctx.journal.flag_needs_attention(
        subscription.id, f"{what} while the daemon held {legs}; {outcome}; check the row and resolve it",
        event=CHANGED_EVENT, details={"held": {leg: str(amount) for leg, amount in held.items()},
                                      "closed": problem is None}, known=subscription)


async def close_held(ctx: StepContext, subscription: Subscription, orders: Sequence[Order]) -> str | None:
    """Reduce-only closes of what `orders` hold, whether or not they can be recorded; None when flat after."""
    specs = leg_specs(subscription)
    to_close = [(spec, held) for spec in specs if (held := open_exposure(orders, spec.leg)) > 0]
    used = [order.client_order_id for order in orders]
    first = max(next_attempt(used, spec.leg, OrderPurpose.CLOSE) for spec, _ in to_close)
    try:
        closed, error = await reduce_legs(ctx, subscription, OrderPurpose.CLOSE, to_close, first, row_lost=True)
        if not closed and await confirmed_flat(ctx, subscription, [spec for spec, _ in to_close]):
            closed = True
        return await check_flat(ctx, subscription, specs) if closed else error
    except Exception as error:  # the database may be what failed: the closes already sent are logged
        log.exception("close_without_row_failed", subscription_id=subscription.id)
        return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:200]}"


async def _left_to_a_human(ctx: StepContext, subscription_id: int) -> bool:
    """An operator who set NEEDS_ATTENTION by hand has taken the legs over: the daemon does not trade them."""
    try:
        return await ctx.journal.raw_status(subscription_id) == Status.NEEDS_ATTENTION.value
    except Exception:
        return False
