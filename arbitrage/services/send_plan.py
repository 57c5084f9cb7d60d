"""When each subscription's orders go out: its trigger, moved earlier where its exchanges' order limits are full;
and its closes, as soon as both exchanges have room for both legs together.

The scheduler plans every subscription it knows (`plan`) before it schedules preparation, and the pipeline waits
for the planned trigger. A subscription keeps its slot once it has one; a new one fits around the slots taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from arbitrage.db.models import Subscription
from arbitrage.domain.send_slots import SlotRequest, Windows, assign_slots, earliest_fit
from arbitrage.domain.status import Status
from arbitrage.domain.venues import VENUES
from arbitrage.logging import get_logger
from arbitrage.services.pipeline_config import PipelineConfig

log = get_logger(__name__)

# Close slots older than this cannot share a window with a new one (the longest documented window is a minute).
_FORGET_CLOSES_AFTER = 120.0
# Subscriptions that have not sent their opens yet.
_BEFORE_THE_SENDS = (Status.SCHEDULED, Status.SYNCING_LEVERAGE, Status.OPENING)


def order_windows(scales: Mapping[str, float]) -> dict[str, Windows]:
    """Each exchange's documented order limits, scaled as its request budget is (`RATE_LIMIT_SCALE`)."""
    return {
        venue.id: [(limit.scaled(scales.get(venue.id, 1.0)), limit.seconds)
                   for limit in venue.order_limits]
        for venue in VENUES.values()
    }


class SendPlan:
    def __init__(self, config: PipelineConfig, windows: Mapping[str, Windows] | None = None) -> None:
        self._config = config
        self._windows = windows or {}
        # Per subscription: its send slot as planned, its exchanges, and how much earlier than its trigger it is
        # (the trigger follows the exchanges' clocks as they are measured again; the slot keeps its place).
        self._slots: dict[int, tuple[datetime, tuple[str, str], timedelta]] = {}
        self._closes: list[tuple[datetime, tuple[str, str]]] = []

    def plan(self, subscriptions: Iterable[Subscription]) -> None:
        new = [s for s in subscriptions if s.id not in self._slots and s.status in _BEFORE_THE_SENDS]
        if not new:
            return
        taken = self._taken()
        requests = [SlotRequest(s.id, (s.primary_exchange, s.hedge_exchange), self._config.trigger_time(s).timestamp())
                    for s in new]
        slots = assign_slots(requests, self._windows, taken)
        for subscription in new:
            slot = datetime.fromtimestamp(slots[subscription.id], UTC)
            shift = self._config.trigger_time(subscription) - slot
            self._slots[subscription.id] = (slot, (subscription.primary_exchange, subscription.hedge_exchange), shift)
            earlier = shift.total_seconds()
            if earlier > 0:
                log.info("trigger_moved_earlier", subscription_id=subscription.id, seconds=round(earlier, 3),
                         reason="order limits of " + " and ".join(sorted({subscription.primary_exchange,
                                                                          subscription.hedge_exchange})))

    def close_time(self, exchanges: tuple[str, str], now: datetime) -> datetime:
        """When a close of both legs on `exchanges` can leave together, now or as soon as both have room; the time
        is taken, so the next close plans around it."""
        taken = self._taken()
        at = datetime.fromtimestamp(earliest_fit(exchanges, now.timestamp(), self._windows, taken), UTC)
        self._closes = [(t, e) for t, e in self._closes if (now - t).total_seconds() < _FORGET_CLOSES_AFTER]
        self._closes.append((at, exchanges))
        return at

    def _taken(self) -> dict[str, list[float]]:
        taken: dict[str, list[float]] = {}
        for at, exchanges in [*((at, exchanges) for at, exchanges, _ in self._slots.values()), *self._closes]:
            for exchange in exchanges:
                taken.setdefault(exchange, []).append(at.timestamp())
        return taken

    def trigger_time(self, subscription: Subscription) -> datetime:
        slot = self._slots.get(subscription.id)
        trigger = self._config.trigger_time(subscription)
        return trigger - slot[2] if slot is not None else trigger

    def prepare_time(self, subscription: Subscription) -> datetime:
        return self.trigger_time(subscription) - timedelta(seconds=self._config.leverage_sync_ahead_seconds)

    def keep_only(self, subscription_ids: set[int]) -> None:
        """Forget the slots of subscriptions that finished or were cancelled."""
        for subscription_id in set(self._slots) - subscription_ids:
            del self._slots[subscription_id]
