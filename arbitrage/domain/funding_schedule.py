"""Which funding instants a subscription may name: the exchange's next funding time and the instants after it,
one funding interval apart.

The exchange's own next funding time is the anchor (not a UTC grid of our own), so a venue that moved a symbol
to another interval, or a simulator with an arbitrary schedule, is followed as it is. Only the next few instants
are accepted without asking: intervals change (Bybit switches them dynamically), so a far instant may never come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Without --force: the next funding and the two after it (a day ahead on an 8 h symbol).
UPCOMING_INSTANTS = 3
# With --force: still never further than this.
FORCED_HORIZON = timedelta(days=7)
# Symbols absent from Binance's fundingInfo (most of them) settle every 8 h.
DEFAULT_INTERVAL_HOURS = {"binanceusdm": 8}


@dataclass(frozen=True)
class FundingSchedule:
    exchange: str
    symbol: str
    next_funding: datetime
    interval_hours: int | None  # None: the exchange does not say; only its next funding time is known

    def upcoming(self, count: int = UPCOMING_INSTANTS) -> list[datetime]:
        if self.interval_hours is None:
            return [self.next_funding]
        return [self.next_funding + k * timedelta(hours=self.interval_hours) for k in range(count)]

    def instants_ahead(self, when: datetime) -> int | None:
        """0 for the next funding, 1 for the one after...; None when `when` is not one of its instants."""
        if when == self.next_funding:
            return 0
        if self.interval_hours is None or when < self.next_funding:
            return None
        periods, rest = divmod(when - self.next_funding, timedelta(hours=self.interval_hours))
        return periods if rest == timedelta(0) else None

    def describe(self) -> str:
        shown = ", ".join(instant.isoformat() for instant in self.upcoming())
        every = f"every {self.interval_hours} h" if self.interval_hours else "its interval is not reported"
        return f"{self.exchange}'s next funding times for {self.symbol}: {shown} ({every})"


def funding_time_problem(schedule: FundingSchedule, when: datetime, *, force: bool) -> str | None:
    """Why `when` cannot be this schedule's funding instant (None: it can)."""
    ahead = schedule.instants_ahead(when)
    if ahead is None:
        if schedule.interval_hours is None:
            return (f"{when.isoformat()} is not {schedule.exchange}'s next funding time for {schedule.symbol} "
                    f"({schedule.next_funding.isoformat()}), and {schedule.exchange} does not report the interval "
                    "to check a later one")
        return f"{when.isoformat()} is not a funding time: {schedule.describe()}"
    if ahead < UPCOMING_INSTANTS:
        return None
    if not force:
        return (f"{when.isoformat()} is {ahead} funding intervals after the next one; {schedule.describe()}. "
                "Intervals can change meanwhile: pass --force to subscribe this far ahead")
    if when - schedule.next_funding > FORCED_HORIZON:
        return f"{when.isoformat()} is more than {FORCED_HORIZON.days} days after the next funding; not accepted"
    return None
