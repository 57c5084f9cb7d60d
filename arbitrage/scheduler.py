"""Thin APScheduler wiring: one date job per pending subscription, kept in step with the database.

A periodic job reads the subscriptions that still need the daemon and (re)schedules each at its prepare time
(leverage sync runs ahead of the trigger; the pipeline then waits for the trigger itself). Rows added or
cancelled through the CLI or SQL are picked up within one poll interval. UTC only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.domain.status import IN_PROGRESS, Status
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow
from arbitrage.services.send_plan import SendPlan

log = get_logger(__name__)

SYNC_JOB_ID = "sync-subscriptions"


class SubscriptionScheduler:
    def __init__(
        self,
        db: Database,
        run_pipeline: Callable[[int], Awaitable[None]],
        plan: SendPlan,
        poll_interval_seconds: float,
    ) -> None:
        self._db = db
        self._run_pipeline = run_pipeline
        self._plan = plan
        self._poll_interval = poll_interval_seconds
        self._scheduler = AsyncIOScheduler(
            timezone="UTC",
            # The pipeline decides what a late start means (run or SKIPPED); the scheduler always fires.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._planned: dict[int, datetime] = {}
        self.running: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    @property
    def scheduler(self) -> AsyncIOScheduler:
        return self._scheduler

    async def start(self) -> None:
        self._scheduler.start()
        await self.sync()
        self._scheduler.add_job(self.sync, "interval", seconds=self._poll_interval, id=SYNC_JOB_ID)

    def add_periodic(self, job: Callable[[], Awaitable[None]], minutes: float, job_id: str) -> None:
        self._scheduler.add_job(job, "interval", minutes=minutes, id=job_id)

    def add_before_each_hour(self, job: Callable[[], Awaitable[object]], seconds_ahead: int, job_id: str) -> None:
        """`job` runs `seconds_ahead` before every whole UTC hour (every venue's funding instants are on whole
        hours), and once at start when the next hour is already closer than that."""
        now = utcnow()
        first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, seconds=-seconds_ahead)
        self._scheduler.add_job(job, IntervalTrigger(hours=1, start_date=first, timezone="UTC"), id=job_id)
        if first <= now:  # a job of its own: the hourly one's next run counts from its last
            self._scheduler.add_job(job, "date", run_date=now, id=f"{job_id}-at-start")

    async def sync(self) -> None:
        try:
            async with self._db.unit_of_work() as session:
                # After a restart SYNCING_LEVERAGE and OPEN rows resume; OPENING and CLOSING rows are released or
                # recovered by the pipeline (services/recovery.py).
                pending = await repo.list_subscriptions(session, IN_PROGRESS)
        except asyncio.CancelledError:
            return  # the scheduler is shutting down; the next start reads the database again
        self._plan.plan(pending)  # triggers moved earlier where an exchange's order limits are full
        now = utcnow()
        wanted: dict[int, datetime] = {}
        for subscription in pending:
            if subscription.id in self.running:
                continue
            at = self._plan.prepare_time(subscription) if subscription.status is Status.SCHEDULED else now
            wanted[subscription.id] = max(at, now)
        for subscription_id in set(self._planned) - set(wanted):
            self._remove(subscription_id)  # cancelled or otherwise finished elsewhere
        self._plan.keep_only({subscription.id for subscription in pending})
        for subscription_id, at in wanted.items():
            planned = self._planned.get(subscription_id)
            if planned is None or (planned != at and planned > now):
                self._schedule(subscription_id, at)

    def _schedule(self, subscription_id: int, at: datetime) -> None:
        self._scheduler.add_job(
            self._fire, "date", run_date=at, args=[subscription_id], id=_job_id(subscription_id),
            replace_existing=True,
        )
        if subscription_id not in self._planned:
            log.info("subscription_scheduled", subscription_id=subscription_id, prepare_at=at.isoformat())
        self._planned[subscription_id] = at

    def _remove(self, subscription_id: int) -> None:
        self._planned.pop(subscription_id, None)
        try:
            self._scheduler.remove_job(_job_id(subscription_id))
            log.info("subscription_unscheduled", subscription_id=subscription_id)
        except JobLookupError:
            pass

    async def _fire(self, subscription_id: int) -> None:
        """Hand the pipeline to a task of its own: APScheduler cancels its job tasks on shutdown, and a pipeline
        must never be cancelled in the middle of an exchange call."""
        self._planned.pop(subscription_id, None)
        if self._stopping or subscription_id in self.running:
            return  # a job APScheduler had already handed over, or a sync racing a pipeline that is still running
        task = asyncio.create_task(self._run_pipeline(subscription_id), name=f"pipeline-{subscription_id}")
        self.running[subscription_id] = task
        task.add_done_callback(lambda done: self._forget(subscription_id, done))

    def _forget(self, subscription_id: int, task: asyncio.Task[None]) -> None:
        if self.running.get(subscription_id) is task:
            del self.running[subscription_id]

    async def shutdown(self) -> None:
        """Start nothing new; wait for running pipelines (they stop at their next wait, never mid-call)."""
        self._stopping = True
        self._scheduler.pause()
        while self.running:
            log.info("waiting_for_pipelines", subscriptions=sorted(self.running))
            await asyncio.gather(*list(self.running.values()), return_exceptions=True)
        self._scheduler.shutdown(wait=False)


def _job_id(subscription_id: int) -> str:
    return f"subscription-{subscription_id}"
