"""Runs ONE subscription through its steps, and is the only place that sequences them:

    prepare (leverage sync + funding check, ahead of the trigger) → open both legs at the trigger →
    hold through the funding time and confirm the payments → close both legs → COMPLETED.

Each step (preparation, opening, settlement, closing, recovery) takes the `StepContext` and says what happened;
the pipeline applies that through the journal, the one writer of the subscription's story. Each step's state is
committed before the next exchange action, and each order's row before it is sent. It can start from SCHEDULED,
resume from SYNCING_LEVERAGE or OPEN after a restart, and recover a row left in OPENING or CLOSING by a crash. On
shutdown it stops only at a wait (never in the middle of an exchange call), leaving the row for the next start.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from arbitrage.db import raw_rows
from arbitrage.db import repository as repo
from arbitrage.db.models import Order, Subscription
from arbitrage.db.session import Database
from arbitrage.domain import OrderPurpose
from arbitrage.domain.status import ORDER_IN_DOUBT, OrderStatus, Status
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.logging import bind_subscription, get_logger
from arbitrage.ops.metrics import timed_step
from arbitrage.services.clock import sleep_until, utcnow
from arbitrage.services.closing import close_legs
from arbitrage.services.journal import StepResult, SubscriptionJournal, database_unavailable
from arbitrage.services.markets import MarketCatalog
from arbitrage.services.opening import OPENED_LATE_EVENT, PendingOpen, open_legs, record_open_orders, release_unsent
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.preparation import EntryPlan, prepare
from arbitrage.services.recovery import recover
from arbitrage.services.row_loss import CHANGED_EVENT, exposure_of, is_row_loss, take_over, what_changed
from arbitrage.services.send_plan import SendPlan
from arbitrage.services.settlement import completion, confirm_funding
from arbitrage.services.step_context import StepContext
from arbitrage.services.warm_up import warm_up_before

log = get_logger(__name__)

# The row is read once this long before the trigger: a subscription changed by the CLI or SQL sends nothing.
PRE_TRIGGER_CHECK_SECONDS = 0.2
STOPPED_BEFORE_TRIGGER = "not sent: the daemon stopped before the trigger"


class Pipeline:
    def __init__(
        self,
        db: Database,
        connectors: ConnectorRegistry,
        markets: MarketCatalog,
        config: PipelineConfig,
        stop: asyncio.Event | None = None,
        plan: SendPlan | None = None,
    ) -> None:
        self.plan = plan or SendPlan(config)
        self.ctx = StepContext(SubscriptionJournal(db), connectors, markets, config, stop or asyncio.Event(), self.plan)
        self.journal = self.ctx.journal
        self.config = config
        self.stop = self.ctx.stop
        # Per running subscription: the row as loaded and its orders as last read, for closing what it holds
        # should the row change under the pipeline (services/row_loss.py).
        self._held: dict[int, tuple[Subscription, list[Order]]] = {}

    async def run(self, subscription_id: int) -> None:
        with bind_subscription(subscription_id):
            try:
                await self._run(subscription_id)
            except Exception as error:
                if self._row_lost_while_holding(subscription_id, error) or (
                        not database_unavailable(error) and await self._row_gone_or_unknown(subscription_id)):
                    # changed under us (SQL, deleted, database down): what we hold is closed on schedule
                    await self._row_lost(subscription_id, error)
                else:  # the last line of defence: never leave a row silently half-done
                    log.exception("pipeline_crashed", error=_first_line(error))
                    await self.journal.fail_loudly(subscription_id, f"internal error: {_first_line(error)}")
            finally:
                self._held.pop(subscription_id, None)

    def _row_lost_while_holding(self, subscription_id: int, error: BaseException) -> bool:
        """A changed row always; a database that stays unavailable only while this run holds legs (otherwise the
        crash path says so on the row once the database is back)."""
        if not is_row_loss(error):
            return False
        if not database_unavailable(error):
            return True
        subscription, snapshot = self._held.get(subscription_id, (None, []))
        return subscription is not None and bool(exposure_of(snapshot, subscription))

    async def _row_gone_or_unknown(self, subscription_id: int) -> bool:
        try:
            return not raw_rows.is_known_status(await self.journal.raw_status(subscription_id))
        except Exception:
            return False

    async def _row_lost(self, subscription_id: int, error: BaseException) -> None:
        held = self._held.get(subscription_id)
        if held is None:  # not even loaded: nothing was sent by this run
            what = await what_changed(self.ctx, subscription_id, error)
            log.error("subscription_changed_elsewhere", reason=what, held="nothing")
            await self.journal.note(subscription_id, CHANGED_EVENT, f"{what}; the daemon did not trade it")
            return
        subscription, snapshot = held
        try:
            await take_over(self.ctx, subscription, snapshot, error)
        except Exception:
            log.exception("row_change_not_handled", error=_first_line(error))

    async def _run(self, subscription_id: int) -> None:
        subscription = await self.journal.load(subscription_id)
        self._held[subscription_id] = (subscription, [])
        if subscription.status is Status.SCHEDULED and not await self._start(subscription):
            return
        if subscription.status is Status.OPENING and await self._recorded_but_unsent(subscription):
            return await self._run(subscription_id)  # stopped before its trigger: prepared again from SCHEDULED
        if subscription.status is Status.SYNCING_LEVERAGE:
            if await self._open_orders_in_doubt(subscription):  # cannot happen by our own hand: look before acting
                await self.journal.transition(subscription, Status.OPENING, "orders of this subscription may have "
                                              "reached an exchange; looking them up", event="interrupted")
            elif not await self._prepare_and_open(subscription):
                return
        if subscription.status in (Status.OPENING, Status.CLOSING):  # interrupted mid-order (a crash)
            with timed_step("recover"):
                result = await recover(self.ctx, subscription)
            await self.journal.apply(subscription, result)
        if subscription.status is Status.OPEN:
            await self._hold_and_close(subscription)

    # --- steps -------------------------------------------------------------------------------------------------

    async def _start(self, subscription: Subscription) -> bool:
        if self.stop.is_set():
            return False  # shutting down: this one waits for the next start
        if self.config.missed(subscription, utcnow()):
            deadline = self.config.entry_deadline(subscription).isoformat()
            await self.journal.transition(subscription, Status.SKIPPED, f"missed: the entry deadline {deadline} has "
                                          "passed", event="missed")
            return False
        try:
            await self.journal.transition(subscription, Status.SYNCING_LEVERAGE, "trigger approaching",
                                          event="triggered")
        except repo.StatusConflict as conflict:
            stored = await self.journal.raw_status(subscription.id)
            if stored is not None and raw_rows.is_known_status(stored):
                log.info("subscription_changed_before_trigger", status=stored)  # e.g. cancelled by the CLI
                return False
            raise conflict  # garbage or deleted: reported as such (row_loss), not like a cancel
        return True

    async def _prepare_and_open(self, subscription: Subscription) -> bool:
        """Everything that can happen ahead of the trigger does: leverage, the funding check, and the order rows
        committed together with OPENING. At the trigger only the two orders go out. True when both legs are OPEN."""
        with timed_step("prepare"):
            plan = await prepare(self.ctx, subscription)
        if isinstance(plan, StepResult):
            await self.journal.apply(subscription, plan)
            return False
        trigger = self.plan.trigger_time(subscription)
        pending = await record_open_orders(self.ctx, subscription, plan.amount, trigger)
        if not await self._wait_for_trigger(subscription, pending, trigger):
            return False
        with timed_step("open"):
            result = await open_legs(self.ctx, subscription, pending, trigger)
        await self.journal.apply(subscription, result)
        if result.target is not Status.OPEN:
            return False
        await self._record_rounding(subscription, plan)
        return True

    async def _wait_for_trigger(self, subscription: Subscription, pending: PendingOpen, trigger: datetime) -> bool:
        """Sleep until the trigger; just before it, make sure the row is still ours (the CLI or SQL may have
        changed it). False, with nothing sent, when the daemon stops, the row changed or the deadline passed."""
        await warm_up_before(trigger, [venue.connector for venue in self.ctx.venues(subscription)], self.stop)
        if not await sleep_until(trigger - timedelta(seconds=PRE_TRIGGER_CHECK_SECONDS), self.stop):
            return await self._unsent(subscription, pending, "the daemon stopped before the trigger", Status.SCHEDULED)
        try:
            current = await self.journal.status_of(subscription.id)
            change = f"the subscription was changed to {current} before the trigger"
        except (repo.SubscriptionNotFound, raw_rows.UnreadableSubscription) as error:
            current, change = None, f"before the trigger, {await what_changed(self.ctx, subscription.id, error)}"
            await self.journal.note(subscription.id, CHANGED_EVENT, f"{change}; nothing was sent")
        if current is not Status.OPENING:
            log.error("subscription_changed_before_trigger", status=str(current), reason=change)
            await release_unsent(self.ctx, pending, change)
            return False
        if not await sleep_until(trigger, self.stop):
            return await self._unsent(subscription, pending, "the daemon stopped before the trigger", Status.SCHEDULED)
        if utcnow() >= self.config.local_entry_deadline(subscription):
            return await self._unsent(subscription, pending, "entry deadline passed before the orders could go out",
                                      Status.SKIPPED)
        return True

    async def _unsent(self, subscription: Subscription, pending: PendingOpen, reason: str, to: Status) -> bool:
        await release_unsent(self.ctx, pending, reason)
        event = "missed" if to is Status.SKIPPED else "released"
        await self.journal.transition(subscription, to, f"{reason}; nothing was sent", event=event)
        return False

    async def _recorded_but_unsent(self, subscription: Subscription) -> bool:
        """An OPENING row found before its trigger with nothing but recorded (PENDING or released) opens was
        stopped before any order went out: orders only go out at the trigger. Release it back to SCHEDULED."""
        if utcnow() >= self.plan.trigger_time(subscription) - timedelta(seconds=PRE_TRIGGER_CHECK_SECONDS):
            return False  # the sends may have started: recovery looks them up
        orders = await self.journal.orders(subscription.id)
        if any(o.filled > 0 or o.purpose is not OrderPurpose.OPEN
               or o.status not in (OrderStatus.PENDING, OrderStatus.FAILED) for o in orders):
            return False
        await self.journal.mark_not_sent([o for o in orders if o.status is OrderStatus.PENDING],
                                         STOPPED_BEFORE_TRIGGER)
        await self.journal.transition(subscription, Status.SCHEDULED, "the daemon stopped before the trigger; "
                                      "nothing was sent; it is prepared again", event="released")
        return True

    async def _open_orders_in_doubt(self, subscription: Subscription) -> bool:
        """Under SYNCING_LEVERAGE orders are only ever recorded (PENDING), never sent: PENDING rows found here
        (the daemon stopped or crashed before the trigger) are released, and the subscription is prepared again.
        Anything else (a fill, an unknown outcome, an unwind) means something reached an exchange."""
        orders = await self.journal.orders(subscription.id)
        unsent = [o for o in orders if o.purpose is OrderPurpose.OPEN and o.status is OrderStatus.PENDING]
        await self.journal.mark_not_sent(unsent, STOPPED_BEFORE_TRIGGER)
        return any(o.purpose is not OrderPurpose.OPEN or o.filled > 0 or o.status in ORDER_IN_DOUBT
                   for o in orders if o not in unsent)

    async def _record_rounding(self, subscription: Subscription, plan: EntryPlan) -> None:
        if plan.amount != subscription.amount:
            await self.journal.event(subscription.id, "amount_rounded",
                                     f"amount {subscription.amount} rounded to {plan.amount}")

    async def _hold_and_close(self, subscription: Subscription) -> None:
        self._held[subscription.id] = (subscription, await self.journal.orders(subscription.id))
        late = await self._opened_late(subscription)
        if late is None:
            if not await sleep_until(self.config.funding_passed_at(subscription), self.stop):
                log.info("pipeline_paused_for_shutdown", status=str(subscription.status))
                return
            try:
                with timed_step("confirm_funding"):
                    payments = await confirm_funding(self.ctx, subscription)
            except Exception as error:  # confirming is bookkeeping: the legs get closed whatever happens here
                log.exception("funding_confirmation_failed", error=_first_line(error))
                payments = []
            if payments is None:
                return  # stopping: the row stays OPEN for the next start
        await self.journal.transition(subscription, Status.CLOSING, "closing both legs", event="closing")
        with timed_step("close"):
            closed = await close_legs(self.ctx, subscription)  # None: both legs flat
        if closed is None:
            with timed_step("complete"):
                closed = await completion(self.ctx, subscription, note=late)
        await self.journal.apply(subscription, closed)

    async def _opened_late(self, subscription: Subscription) -> str | None:
        """The reason, when the legs opened too late to earn this funding (no wait for a payment that cannot come)."""
        events = await self.journal.events(subscription.id)
        return next((event.message for event in events if event.event == OPENED_LATE_EVENT), None)


def _first_line(error: BaseException) -> str:
    """Library errors span lines (SQLAlchemy appends the statement); error_message holds one line."""
    text = (str(error).strip().splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

