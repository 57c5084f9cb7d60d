"""Cancelling a subscription: only one that is still SCHEDULED, and only if the daemon has not picked it up while
the request was being made."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from arbitrage.db import repository as repo
from arbitrage.domain.status import Status


class CancelRefused(Exception):
    """The subscription is past the point where cancelling means nothing was sent."""


async def cancel_subscription(session: AsyncSession, subscription_id: int) -> None:
    """Raises `repo.SubscriptionNotFound` or `CancelRefused`."""
    subscription = await repo.require_subscription(session, subscription_id)
    if subscription.status is not Status.SCHEDULED:
        raise CancelRefused(
            f"subscription {subscription_id} is {subscription.status}; only SCHEDULED subscriptions can be cancelled"
        )
    try:
        await repo.transition(session, subscription, Status.CANCELLED, event="cancelled", message="cancelled by user")
    except repo.StatusConflict:
        raise CancelRefused(
            f"subscription {subscription_id} changed status while cancelling (the daemon picked it up); "
            f"see `arbitrage show {subscription_id}`"
        ) from None
