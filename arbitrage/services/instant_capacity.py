"""What `subscribe` says about a funding instant that its exchanges' order limits cannot take at the trigger.

The same planning as the daemon's (`domain/send_slots.py`): the subscriptions already waiting for that instant keep
their places, and the new one gets the latest send time at or before its trigger that its exchanges have room for.
"""

from __future__ import annotations

from collections.abc import Mapping

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain.send_slots import SlotRequest, Windows, assign_slots
from arbitrage.domain.status import Status
from arbitrage.domain.subscription_request import NewSubscription
from arbitrage.services.pipeline_config import PipelineConfig

_WAITING = (Status.SCHEDULED, Status.SYNCING_LEVERAGE, Status.OPENING)


async def instant_note(
    db: Database | None, request: NewSubscription, config: PipelineConfig, windows: Mapping[str, Windows]
) -> str | None:
    """A note when the new subscription's orders must leave before its trigger; None when they fit at it."""
    assert request.funding_time is not None
    live: list[Subscription] = []
    if db is not None:
        async with db.unit_of_work() as session:
            live = [s for s in await repo.list_subscriptions(session, list(_WAITING))
                    if s.funding_time == request.funding_time]
    new = Subscription(primary_exchange=request.primary_exchange, hedge_exchange=request.hedge_exchange,
                       funding_time=request.funding_time, lead_seconds=request.lead_seconds)
    key = max((s.id for s in live), default=0) + 1
    requests = [SlotRequest(s.id, (s.primary_exchange, s.hedge_exchange), config.trigger_time(s).timestamp())
                for s in live]
    mine = SlotRequest(key, (new.primary_exchange, new.hedge_exchange), config.trigger_time(new).timestamp())
    earlier = mine.preferred - assign_slots([*requests, mine], windows)[key]
    if earlier <= 0:
        return None
    counts = {exchange: 1 + sum(exchange in r.exchanges for r in requests) for exchange in mine.exchanges}
    busiest = max(mine.exchanges, key=lambda exchange: counts[exchange] / max(windows[exchange][0][0], 1))
    orders, seconds = windows[busiest][0]
    return (f"{busiest} takes {orders} orders per {seconds:g} s and {counts[busiest]} subscriptions trade it at "
            f"{request.funding_time.isoformat()}: this one's orders leave {earlier:.2f} s before its trigger "
            "(never later); a longer --lead-seconds keeps them at the trigger")
