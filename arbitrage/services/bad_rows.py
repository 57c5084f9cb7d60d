"""Rows the daemon cannot drive: a status it does not know, or a column edited into a value it cannot read.

Each is reported once per daemon life: an ERROR log line, and either NEEDS_ATTENTION (written by the row's id
alone) when its order rows show that it may hold positions, or an event saying that the daemon does not trade it.
Nothing is sent for such a row: what it holds is for a human to close.
"""

from __future__ import annotations

from collections.abc import Iterable

from arbitrage.db import raw_rows
from arbitrage.domain import Leg
from arbitrage.domain.reconcile import open_exposure
from arbitrage.domain.status import IN_PROGRESS, Status
from arbitrage.logging import get_logger
from arbitrage.services.journal import SubscriptionJournal

log = get_logger(__name__)

INVALID_EVENT = "row_invalid"


class BadRowReporter:
    def __init__(self, journal: SubscriptionJournal) -> None:
        self.journal = journal
        self._reported: dict[int, str] = {}

    async def report(self, problems: dict[int, str], skip: Iterable[int] = ()) -> None:
        """`problems`: id → what is wrong with the row. Rows in `skip` (a running pipeline reports its own) and
        rows already reported with the same problem are left alone."""
        skipped = set(skip)
        for subscription_id, problem in problems.items():
            if subscription_id in skipped or self._reported.get(subscription_id) == problem:
                continue
            self._reported[subscription_id] = problem
            await self._report_one(subscription_id, problem)

    async def _report_one(self, subscription_id: int, problem: str) -> None:
        stored = await self.journal.raw_status(subscription_id)
        if stored is None or (raw_rows.is_known_status(stored) and Status(stored) not in IN_PROGRESS):
            return  # deleted, or settled meanwhile (a pipeline that held it flagged it as it ended)
        try:
            orders = await self.journal.orders(subscription_id)
        except Exception as error:  # an order row edited into garbage too: say so, assume exposure
            log.error("subscription_orders_unreadable", subscription_id=subscription_id, error=str(error)[:200])
            orders = None
        held = {leg.lower(): open_exposure(orders, leg) for leg in Leg} if orders is not None else None
        if held is None or any(amount > 0 for amount in held.values()):
            shown = ("its orders cannot be read" if held is None else
                     "its orders show open positions (" + ", ".join(f"{leg} {amount}" for leg, amount in
                                                         held.items() if amount > 0) + ")")
            await self.journal.flag_needs_attention(
                subscription_id, f"{problem}; {shown}; the daemon does not trade a row it cannot read: check "
                "and close these positions by hand", event=INVALID_EVENT)
            return
        log.error("subscription_row_invalid", subscription_id=subscription_id, problem=problem, held="nothing")
        await self.journal.note(subscription_id, INVALID_EVENT, f"{problem}; the daemon does not trade it (its "
                                "orders hold nothing); fix or cancel the row")


def describe_unreadable(unreadable: raw_rows.UnreadableSubscription) -> str:
    if unreadable.raw_status is not None:
        return f"status {unreadable.raw_status} is not one the daemon knows"
    shown = ", ".join(f"{column}={value}" for column, value in unreadable.problems.items())
    return f"invalid {shown or 'values'}"
