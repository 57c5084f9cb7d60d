"""What the exchanges' positions show for a subscription's legs, and whether they can be attributed to it alone.

A one-way account nets every subscription on one exchange and symbol into one position: a position read is only
evidence about this subscription's leg when no other active subscription trades the same exchange and symbol.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from arbitrage.db.models import Subscription
from arbitrage.domain.status import HOLDING
from arbitrage.exchanges.connector import ExchangeError
from arbitrage.services.leg_specs import LegSpec
from arbitrage.services.order_lookup import PositionProbe
from arbitrage.services.step_context import StepContext


def open_probe(ctx: StepContext, subscription: Subscription, spec: LegSpec) -> PositionProbe:
    """What the exchange's position shows an open of this leg may have opened; None where it cannot tell (the
    exchange and symbol are shared with another active subscription, or the position cannot be read)."""

    async def probe() -> Decimal | None:
        held, problem = await position_held(ctx, subscription, spec)
        return None if problem else held

    return probe


async def position_held(
    ctx: StepContext, subscription: Subscription, spec: LegSpec
) -> tuple[Decimal, str | None]:
    """The exchange's position on this leg's side, when it can be attributed to this subscription alone."""
    sharing = await other_active_subscriptions(ctx, subscription, spec)
    if sharing:
        return Decimal(0), f"{spec.exchange} {spec.symbol} is shared with subscription(s) {sharing}"
    try:
        positions = await ctx.connector(spec.exchange).fetch_positions(spec.symbol)
    except ExchangeError as error:
        return Decimal(0), f"could not read the {spec.exchange} position ({error.user_message})"
    return sum((p.amount for p in positions if p.side == spec.side.value), Decimal(0)), None


async def confirmed_flat(ctx: StepContext, subscription: Subscription, specs: Sequence[LegSpec]) -> bool:
    """True only when the exchanges show none of these legs' positions (read again before saying a reduction
    failed: a late-executing close can have done the job while its retries were refused)."""
    for spec in specs:
        held, problem = await position_held(ctx, subscription, spec)
        if problem or held > 0:
            return False
    return True


async def check_flat(ctx: StepContext, subscription: Subscription, specs: Sequence[LegSpec]) -> str | None:
    """After the closes filled: is anything left? A residual position is ours unless another active subscription
    trades the same exchange and symbol (one-way accounts net them), in which case it is noted, not escalated."""
    problems = []
    for spec in specs:
        try:
            positions = await ctx.connector(spec.exchange).fetch_positions(spec.symbol)
        except ExchangeError as error:
            problems.append(f"could not verify {spec.exchange} is flat: {error.user_message}")
            continue
        for position in positions:
            residual = f"{spec.exchange} still holds {position.side} {position.amount} {spec.symbol}"
            sharing = await other_active_subscriptions(ctx, subscription, spec)
            if not sharing:
                problems.append(residual)
                continue
            await ctx.journal.event(subscription.id, "position_shared",
                                    f"{residual}; it belongs to subscription(s) {sharing}")
    return "; ".join(problems) or None


async def other_active_subscriptions(ctx: StepContext, subscription: Subscription, spec: LegSpec) -> list[int]:
    active = await ctx.journal.subscriptions_in(HOLDING)
    return [
        other.id for other in active
        if other.id != subscription.id
        and (spec.exchange, spec.symbol) in {(other.primary_exchange, other.primary_symbol),
                                             (other.hedge_exchange, other.hedge_symbol)}
    ]
