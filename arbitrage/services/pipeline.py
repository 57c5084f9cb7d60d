"""Runs ONE subscription through its steps:

    prepare (leverage sync + funding check, ahead of the trigger) → open both legs at the trigger →
    hold through the funding time and confirm the payments → close both legs → COMPLETED.

Each step's state is committed before the next exchange action, and each order's row before it is sent.
It can start from SCHEDULED, resume from SYNCING_LEVERAGE or OPEN after a restart, and recover a row left in
OPENING or CLOSING by a crash (services/recovery.py). On shutdown it stops only at a wait (never in the middle
of an exchange call), leaving the row as it is for the next start.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.errors import DomainError
from arbitrage.domain.funding import funding_favours_side, should_skip_missed, side_receipt_rate
from arbitrage.domain.leverage import resolve_leverage
from arbitrage.domain.order_ids import client_order_id
from arbitrage.domain.sizing import round_amount_to_both
from arbitrage.domain.status import HOLDING, IN_PROGRESS, ORDER_IN_DOUBT, OrderStatus, Status, is_terminal
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, FundingRateInfo, PositionMode
from arbitrage.logging import bind_subscription, get_logger
from arbitrage.services.clock import sleep_until, utcnow
from arbitrage.services.leg_specs import leg_specs
from arbitrage.services.leverage_sync import LegVenue, LeverageSyncFailed, sync_leverage
from arbitrage.services.markets import MarketCatalog
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.position_legs import (
    OPENED_LATE_EVENT,
    PendingOpen,
    close_legs,
    open_legs,
    record_open_orders,
    release_unsent,
)
from arbitrage.services.recovery import recover
from arbitrage.services.settlement import confirm_funding, record_result

log = get_logger(__name__)

# The row is read once this long before the trigger: a subscription changed by the CLI or SQL sends nothing.
PRE_TRIGGER_CHECK_SECONDS = 0.2
# The primary's next funding time may differ from the subscription's by this much (exchanges round stamps).
FUNDING_TIME_TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True)
class EntryPlan:
    amount: Decimal
    leverage: int
    hedge_pays_at_same_time: bool


class Pipeline:
    def __init__(
        self,
        db: Database,
        connectors: ConnectorRegistry,
        markets: MarketCatalog,
        config: PipelineConfig,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.db = db
        self.connectors = connectors
        self.markets = markets
        self.config = config
        self.stop = stop or asyncio.Event()

    async def run(self, subscription_id: int) -> None:
        with bind_subscription(subscription_id):
            try:
                await self._run(subscription_id)
            except repo.StatusConflict as conflict:  # changed elsewhere (SQL, another process): not ours to undo
                log.error("subscription_changed_elsewhere", reason=str(conflict))
            except Exception as error:  # the last line of defence: never leave a row silently half-done
                log.exception("pipeline_crashed", error=_first_line(error))
                await self._fail_loudly(subscription_id, f"internal error: {_first_line(error)}")

    async def _run(self, subscription_id: int) -> None:
        subscription = await self._load(subscription_id)
        if subscription.status is Status.SCHEDULED and not await self._start(subscription):
            return
        if subscription.status is Status.OPENING and await self._recorded_but_unsent(subscription):
            return await self._run(subscription_id)  # stopped before its trigger: prepared again from SCHEDULED
        if subscription.status is Status.SYNCING_LEVERAGE:
            if await self._open_orders_in_doubt(subscription):  # cannot happen by our own hand: look before acting
                await self.transition(subscription, Status.OPENING, "orders of this subscription may have reached "
                                      "an exchange; looking them up", event="interrupted")
            elif not await self._prepare_and_open(subscription):
                return
        if subscription.status in (Status.OPENING, Status.CLOSING):  # interrupted mid-order (a crash)
            await recover(self, subscription)
        if subscription.status is Status.OPEN:
            await self._hold_and_close(subscription)

    # --- steps -------------------------------------------------------------------------------------------------

    async def _prepare_and_open(self, subscription: Subscription) -> bool:
        """Everything that can happen ahead of the trigger does: leverage, the funding check, and the order rows
        committed together with OPENING. At the trigger only the two orders go out. True when both legs are OPEN."""
        plan = await self._prepare(subscription)
        if plan is None:
            return False
        pending = await record_open_orders(self, subscription, plan.amount)
        if not await self._wait_for_trigger(subscription, pending):
            return False
        if not await open_legs(self, subscription, pending):
            return False
        await self._record_plan_event(subscription, plan)
        return True

    async def _wait_for_trigger(self, subscription: Subscription, pending: PendingOpen) -> bool:
        """Sleep until the trigger; just before it, make sure the row is still ours (the CLI or SQL may have
        changed it). False, with nothing sent, when the daemon stops, the row changed or the deadline passed."""
        trigger = self.config.trigger_time(subscription)
        if not await sleep_until(trigger - timedelta(seconds=PRE_TRIGGER_CHECK_SECONDS), self.stop):
            return await self._unsent(subscription, pending, "the daemon stopped before the trigger", Status.SCHEDULED)
        async with self.db.unit_of_work() as session:
            current = (await repo.require_subscription(session, subscription.id)).status
        if current is not Status.OPENING:
            log.error("subscription_changed_before_trigger", status=str(current))
            await release_unsent(self, pending, f"the subscription was changed to {current} before the trigger")
            return False
        if not await sleep_until(trigger, self.stop):
            return await self._unsent(subscription, pending, "the daemon stopped before the trigger", Status.SCHEDULED)
        if utcnow() >= self.config.entry_deadline(subscription):
            return await self._unsent(subscription, pending, "entry deadline passed before the orders could go out",
                                      Status.SKIPPED)
        return True

    async def _unsent(self, subscription: Subscription, pending: PendingOpen, reason: str, to: Status) -> bool:
        await release_unsent(self, pending, reason)
        event = "missed" if to is Status.SKIPPED else "released"
        await self.transition(subscription, to, f"{reason}; nothing was sent", event=event)
        return False

    async def _recorded_but_unsent(self, subscription: Subscription) -> bool:
        """An OPENING row found before its trigger with nothing but recorded (PENDING or released) opens was
        stopped before any order went out: orders only go out at the trigger. Release it back to SCHEDULED."""
        if utcnow() >= self.config.trigger_time(subscription) - timedelta(seconds=PRE_TRIGGER_CHECK_SECONDS):
            return False  # the sends may have started: recovery looks them up
        async with self.db.unit_of_work() as session:
            orders = await repo.orders_for(session, subscription.id)
            if any(o.filled > 0 or o.purpose is not OrderPurpose.OPEN
                   or o.status not in (OrderStatus.PENDING, OrderStatus.FAILED) for o in orders):
                return False
            for order in orders:
                if order.status is OrderStatus.PENDING:
                    await repo.update_order(session, order, status=OrderStatus.FAILED,
                                            error_message="not sent: the daemon stopped before the trigger")
        await self.transition(subscription, Status.SCHEDULED, "the daemon stopped before the trigger; nothing was "
                              "sent; it is prepared again", event="released")
        return True

    async def _open_orders_in_doubt(self, subscription: Subscription) -> bool:
        """Under SYNCING_LEVERAGE orders are only ever recorded (PENDING), never sent: PENDING rows found here
        (the daemon stopped or crashed before the trigger) are released, and the subscription is prepared again.
        Anything else (a fill, an unknown outcome, an unwind) means something reached an exchange."""
        async with self.db.unit_of_work() as session:
            orders = await repo.orders_for(session, subscription.id)
            unsent = [o for o in orders if o.purpose is OrderPurpose.OPEN and o.status is OrderStatus.PENDING]
            for order in unsent:
                await repo.update_order(session, order, status=OrderStatus.FAILED,
                                        error_message="not sent: the daemon stopped before the trigger")
        return any(o.purpose is not OrderPurpose.OPEN or o.filled > 0 or o.status in ORDER_IN_DOUBT
                   for o in orders if o not in unsent)

    async def _start(self, subscription: Subscription) -> bool:
        if self.stop.is_set():
            return False  # shutting down: this one waits for the next start
        if should_skip_missed(utcnow(), subscription.funding_time, self.config.exchange_min_leads(subscription)):
            await self.transition(
                subscription,
                Status.SKIPPED,
                f"missed: the entry deadline {self.config.entry_deadline(subscription).isoformat()} has passed",
                event="missed",
            )
            return False
        try:
            await self.transition(subscription, Status.SYNCING_LEVERAGE, "trigger approaching", event="triggered")
        except repo.StatusConflict:
            log.info("subscription_changed_before_trigger")  # e.g. cancelled by the CLI a moment ago
            return False
        return True

    async def _prepare(self, subscription: Subscription) -> EntryPlan | None:
        primary, hedge = self.venues(subscription)
        try:
            # The position modes are read now (and cached) so that no lookup lands on the send path at the trigger.
            primary_rate, hedge_rate, primary_mode, hedge_mode = await asyncio.gather(
                primary.connector.fetch_funding_rate(primary.symbol),
                hedge.connector.fetch_funding_rate(hedge.symbol),
                primary.connector.position_mode(),
                hedge.connector.position_mode(),
            )
            conflict = await self._netting_conflict(subscription, {primary.exchange: primary_mode,
                                                                   hedge.exchange: hedge_mode})
            if conflict:
                await self.transition(subscription, Status.ERROR, conflict, event="prepare_failed")
                return None
            skip_reason = self._funding_skip_reason(subscription, primary_rate)
            if skip_reason:
                await self.transition(subscription, Status.SKIPPED, skip_reason, event="funding_checked",
                                       details={"rate": str(primary_rate.rate)})
                return None
            plan = await self._plan(subscription, primary_rate, hedge_rate)
            await sync_leverage(primary, hedge, plan.leverage)
        except LeverageSyncFailed as error:
            await self.transition(subscription, Status.ERROR, str(error), event="leverage_sync_failed")
            return None
        except (ExchangeError, DomainError) as error:
            message = error.user_message
            await self.transition(subscription, Status.ERROR, f"Preparation failed: {message}", event="prepare_failed")
            return None
        side = Side(subscription.side)
        rates = {"primary_receives": side_receipt_rate(side, primary_rate.rate),
                 "hedge_receives": side_receipt_rate(side.opposite, hedge_rate.rate)
                 if plan.hedge_pays_at_same_time else Decimal(0)}
        net = rates["primary_receives"] + rates["hedge_receives"]
        async with self.db.unit_of_work() as session:
            await repo.add_event(session, subscription.id, "leverage_synced",
                                 message=f"leverage {plan.leverage} set and verified on both exchanges",
                                 details={"leverage": plan.leverage, "rate": str(primary_rate.rate),
                                          "amount": str(plan.amount),
                                          "hedge_pays_at_same_time": plan.hedge_pays_at_same_time,
                                          **{key: str(value) for key, value in rates.items()}, "net_rate": str(net)})
            if net < 0:  # the primary's rate decides (SKIPPED is for that); a losing pair is said out loud
                await repo.add_event(session, subscription.id, "funding_net_negative",
                                     message=f"the hedge on {hedge.exchange} pays more at this funding than the primary "
                                             f"earns: net rate {net} for the pair")
                log.warning("funding_net_negative", net_rate=str(net))
            stored = await repo.require_subscription(session, subscription.id)
            stored.applied_leverage = plan.leverage
            subscription.applied_leverage = plan.leverage
        log.info("leverage_synced", leverage=plan.leverage, funding_rate=str(primary_rate.rate))
        return plan

    async def _netting_conflict(self, subscription: Subscription, modes: dict[str, PositionMode]) -> str | None:
        """A one-way account holds one net position per symbol: an earlier active subscription holding the
        opposite side there would cancel ours out (and its reduce-only closes would fail)."""
        own = {(spec.exchange, spec.symbol): spec.side for spec in leg_specs(subscription)}
        async with self.db.unit_of_work() as session:
            others = await repo.list_subscriptions(session, IN_PROGRESS)
        for other in others:
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

    def _funding_skip_reason(self, subscription: Subscription, rate: FundingRateInfo) -> str | None:
        if not funding_favours_side(rate.rate, Side(subscription.side), self.config.min_funding_rate):
            return (
                f"funding rate {rate.rate} on {rate.exchange} does not pay a {subscription.side} position "
                f"(minimum {self.config.min_funding_rate})"
            )
        next_time = rate.next_funding_time
        if next_time is not None and abs(next_time - subscription.funding_time) > FUNDING_TIME_TOLERANCE:
            return (
                f"{rate.exchange}'s next funding is at {next_time.isoformat()}, not at "
                f"{subscription.funding_time.isoformat()}: nothing would be earned"
            )
        return None

    async def _plan(
        self, subscription: Subscription, primary_rate: FundingRateInfo, hedge_rate: FundingRateInfo
    ) -> EntryPlan:
        primary_rules, hedge_rules = await asyncio.gather(
            self.markets.rules(subscription.primary_exchange, subscription.primary_symbol),
            self.markets.rules(subscription.hedge_exchange, subscription.hedge_symbol),
        )
        price = primary_rate.mark_price or hedge_rate.mark_price
        sized = round_amount_to_both(subscription.amount, primary_rules, hedge_rules, price)
        notional = sized.amount * price if price is not None else Decimal(0)
        primary_max, hedge_max = await asyncio.gather(
            self.markets.max_leverage(subscription.primary_exchange, subscription.primary_symbol, notional),
            self.markets.max_leverage(subscription.hedge_exchange, subscription.hedge_symbol, notional),
        )
        resolution = resolve_leverage(
            subscription.leverage, self.config.default_leverage, primary_max, hedge_max,
            subscription.primary_exchange, subscription.hedge_exchange,
        )
        if resolution.capped:
            async with self.db.unit_of_work() as session:
                await repo.add_event(session, subscription.id, "leverage_capped", message=resolution.reason,
                                     details={"requested": resolution.requested, "applied": resolution.applied})
        hedge_time = hedge_rate.next_funding_time
        same_time = hedge_time is not None and abs(hedge_time - subscription.funding_time) <= FUNDING_TIME_TOLERANCE
        return EntryPlan(sized.amount, resolution.applied, same_time)

    async def _record_plan_event(self, subscription: Subscription, plan: EntryPlan) -> None:
        if plan.amount != subscription.amount:
            async with self.db.unit_of_work() as session:
                await repo.add_event(session, subscription.id, "amount_rounded",
                                     message=f"amount {subscription.amount} rounded to {plan.amount}")

    async def _hold_and_close(self, subscription: Subscription) -> None:
        late = await self._opened_late(subscription)
        if late is None:
            if not await sleep_until(subscription.funding_time, self.stop):
                log.info("pipeline_paused_for_shutdown", status=str(subscription.status))
                return
            try:
                payments = await confirm_funding(self, subscription)
            except Exception as error:  # confirming is bookkeeping: the legs get closed whatever happens here
                log.exception("funding_confirmation_failed", error=_first_line(error))
                payments = []
            if payments is None:
                return  # stopping: the row stays OPEN for the next start
        closed = await close_legs(self, subscription)
        if closed:
            await record_result(self, subscription, note=late)

    async def _opened_late(self, subscription: Subscription) -> str | None:
        """The reason, when the legs opened too late to earn this funding (no wait for a payment that cannot come)."""
        async with self.db.unit_of_work() as session:
            events = await repo.events_for(session, subscription.id)
        return next((event.message for event in events if event.event == OPENED_LATE_EVENT), None)

    # --- shared with the step modules (position_legs, settlement) ----------------------------------------------------------------------

    def venues(self, subscription: Subscription) -> tuple[LegVenue, LegVenue]:
        return (
            LegVenue(self.connectors.get(subscription.primary_exchange), subscription.primary_symbol),
            LegVenue(self.connectors.get(subscription.hedge_exchange), subscription.hedge_symbol),
        )

    def client_order_id(self, subscription: Subscription, leg: Leg, purpose: OrderPurpose, attempt: int = 1) -> str:
        return client_order_id(subscription.id, subscription.created_at, leg, purpose, attempt)

    async def _load(self, subscription_id: int) -> Subscription:
        async with self.db.unit_of_work() as session:
            return await repo.require_subscription(session, subscription_id)

    async def transition(
        self, subscription: Subscription, to_status: Status, message: str, *, event: str = "status_changed",
        details: dict | None = None,
    ) -> None:
        # The row says why it ended: the reason of an ERROR, NEEDS_ATTENTION or SKIPPED lands in error_message.
        error_message = message if to_status in (Status.ERROR, Status.NEEDS_ATTENTION, Status.SKIPPED) else None
        async with self.db.unit_of_work() as session:
            stored = await repo.require_subscription(session, subscription.id)
            await repo.transition(session, stored, to_status, event=event, message=message, details=details,
                                  error_message=error_message)
        subscription.status = to_status
        if error_message is not None:
            subscription.error_message = error_message

    async def _fail_loudly(self, subscription_id: int, message: str) -> None:
        try:
            async with self.db.unit_of_work() as session:
                stored = await repo.require_subscription(session, subscription_id)
                target = Status.ERROR if stored.status in (Status.SCHEDULED, Status.SYNCING_LEVERAGE) else (
                    Status.NEEDS_ATTENTION
                )
                if not is_terminal(stored.status) and stored.status is not Status.NEEDS_ATTENTION:
                    await repo.transition(session, stored, target, event="pipeline_crashed", message=message)
        except Exception:
            log.exception("pipeline_crash_not_recorded")


def _first_line(error: BaseException) -> str:
    """Library errors span lines (SQLAlchemy appends the statement); error_message holds one line."""
    text = (str(error).strip().splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
