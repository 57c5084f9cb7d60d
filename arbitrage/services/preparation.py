"""Preparation, ahead of the trigger: funding check, netting check, amount and leverage for both legs, leverage set
and verified on both exchanges. Returns the entry plan, or the result that ends the subscription (SKIPPED or
ERROR; no order has been sent)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from arbitrage.db.models import Subscription
from arbitrage.domain import Side
from arbitrage.domain.errors import DomainError
from arbitrage.domain.funding import funding_favours_side, side_receipt_rate
from arbitrage.domain.status import HOLDING, IN_PROGRESS, Status
from arbitrage.exchanges.connector import ExchangeError, FundingRateInfo, PositionMode
from arbitrage.logging import get_logger
from arbitrage.services.entry_plan import plan_entry
from arbitrage.services.exchange_clocks import clock_refusal
from arbitrage.services.journal import StepResult
from arbitrage.services.leg_specs import leg_specs
from arbitrage.services.leverage_sync import LeverageSyncFailed, sync_leverage
from arbitrage.services.step_context import StepContext

log = get_logger(__name__)

# The primary's next funding time may differ from the subscription's by this much (exchanges round stamps).
FUNDING_TIME_TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True)
class EntryPlan:
    amount: Decimal
    leverage: int
    hedge_pays_at_same_time: bool


async def prepare(ctx: StepContext, subscription: Subscription) -> EntryPlan | StepResult:
    primary, hedge = ctx.venues(subscription)
    refusal = await clock_refusal(ctx.connectors, (primary.exchange, hedge.exchange), ctx.config.max_clock_skew_ms)
    if refusal:  # before anything is set on either exchange
        log.error("clock_refused", reason=refusal)
        return StepResult(Status.ERROR, refusal, "clock_refused")
    try:
        # The position modes were read once per account at start; reading them here only when a rejection made
        # the connector forget them keeps any lookup off the send path at the trigger.
        primary_rate, hedge_rate, primary_mode, hedge_mode = await asyncio.gather(
            primary.connector.fetch_funding_rate(primary.symbol),
            hedge.connector.fetch_funding_rate(hedge.symbol),
            primary.connector.known_position_mode(),
            hedge.connector.known_position_mode(),
        )
        conflict = await _netting_conflict(ctx, subscription, {primary.exchange: primary_mode,
                                                              hedge.exchange: hedge_mode})
        if conflict:
            return StepResult(Status.ERROR, conflict, "prepare_failed")
        skip_reason = _funding_skip_reason(ctx, subscription, primary_rate)
        if skip_reason:
            return StepResult(Status.SKIPPED, skip_reason, "funding_checked", {"rate": str(primary_rate.rate)})
        plan = await _plan(ctx, subscription, primary_rate, hedge_rate)
        await sync_leverage(primary, hedge, plan.leverage)
    except LeverageSyncFailed as error:
        return StepResult(Status.ERROR, str(error), "leverage_sync_failed")
    except (ExchangeError, DomainError) as error:
        return StepResult(Status.ERROR, f"Preparation failed: {error.user_message}", "prepare_failed")
    await _record_plan(ctx, subscription, plan, primary_rate, hedge.exchange, hedge_rate)
    return plan


async def _record_plan(
    ctx: StepContext, subscription: Subscription, plan: EntryPlan, primary_rate: FundingRateInfo, hedge_exchange: str,
    hedge_rate: FundingRateInfo,
) -> None:
    side = Side(subscription.side)
    rates = {"primary_receives": side_receipt_rate(side, primary_rate.rate),
             "hedge_receives": side_receipt_rate(side.opposite, hedge_rate.rate)
             if plan.hedge_pays_at_same_time else Decimal(0)}
    net = rates["primary_receives"] + rates["hedge_receives"]
    await ctx.journal.event(subscription.id, "leverage_synced",
                            f"leverage {plan.leverage} set and verified on both exchanges",
                            {"leverage": plan.leverage, "rate": str(primary_rate.rate), "amount": str(plan.amount),
                             "hedge_pays_at_same_time": plan.hedge_pays_at_same_time,
                             **{key: str(value) for key, value in rates.items()}, "net_rate": str(net)})
    if net < 0:  # the primary's rate decides (SKIPPED is for that); a losing pair is said out loud
        await ctx.journal.event(subscription.id, "funding_net_negative",
                                f"the hedge on {hedge_exchange} pays more at this funding than the primary earns: "
                                f"net rate {net} for the pair")
        log.warning("funding_net_negative", net_rate=str(net))
    await ctx.journal.set_applied_leverage(subscription, plan.leverage)
    log.info("leverage_synced", leverage=plan.leverage, funding_rate=str(primary_rate.rate))


async def _netting_conflict(ctx: StepContext, subscription: Subscription, modes: dict[str, PositionMode]) -> str | None:
    """A one-way account holds one net position per symbol: an earlier active subscription holding the
    opposite side there would cancel ours out (and its reduce-only closes would fail)."""
    own = {(spec.exchange, spec.symbol): spec.side for spec in leg_specs(subscription)}
    for other in await ctx.journal.subscriptions_in(IN_PROGRESS):
        if other.id >= subscription.id:
            continue  # the earlier subscription keeps its place; the later one reports the conflict
        holding_now = other.status in HOLDING
        if not holding_now and abs(other.funding_time - subscription.funding_time) > FUNDING_TIME_TOLERANCE:
            continue  # another funding event: the two never hold at the same time
        for spec in leg_specs(other):
            side = own.get((spec.exchange, spec.symbol))
            if side is not None and side != spec.side and modes.get(spec.exchange) is PositionMode.ONE_WAY:
                return (
                    f"conflicts with subscription {other.id}: it holds {spec.side} {spec.symbol} on "
                    f"{spec.exchange} while this one needs {side}, and the account is in one-way mode "
                    f"(positions net); use hedge mode on {spec.exchange} or another symbol"
                )
    return None


def _funding_skip_reason(ctx: StepContext, subscription: Subscription, rate: FundingRateInfo) -> str | None:
    if not funding_favours_side(rate.rate, Side(subscription.side), ctx.config.min_funding_rate):
        return (
            f"funding rate {rate.rate} on {rate.exchange} does not pay a {subscription.side} position "
            f"(minimum {ctx.config.min_funding_rate})"
        )
    next_time = rate.next_funding_time
    if next_time is not None and abs(next_time - subscription.funding_time) > FUNDING_TIME_TOLERANCE:
        return (
            f"{rate.exchange}'s next funding is at {next_time.isoformat()}, not at "
            f"{subscription.funding_time.isoformat()}: nothing would be earned"
        )
    return None


async def _plan(
    ctx: StepContext, subscription: Subscription, primary_rate: FundingRateInfo, hedge_rate: FundingRateInfo
) -> EntryPlan:
    sizing = await plan_entry(ctx.markets, subscription, primary_rate, hedge_rate, ctx.config.default_leverage)
    resolution = sizing.leverage
    if resolution.capped:
        await ctx.journal.event(subscription.id, "leverage_capped", resolution.reason,
                                {"requested": resolution.requested, "applied": resolution.applied})
    hedge_time = hedge_rate.next_funding_time
    same_time = hedge_time is not None and abs(hedge_time - subscription.funding_time) <= FUNDING_TIME_TOLERANCE
    return EntryPlan(sizing.amount, resolution.applied, same_time)
