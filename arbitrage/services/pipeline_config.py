"""The pipeline's settings and the timing rules derived from them.

A subscription's funding time, and the entry deadline derived from it, are instants on its EXCHANGES' clocks
(each exchange stamps and settles funding on its own). The trigger, the local deadline and the end of the funding
are instants on OUR clock: the exchange furthest ahead decides when the orders must be out, the one furthest
behind when the funding has passed on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from arbitrage.db.models import Subscription
from arbitrage.domain.funding import effective_lead_seconds, entry_deadline, should_skip_missed
from arbitrage.domain.leverage import LeverageRequest
from arbitrage.services.exchange_clocks import NoOffsets
from arbitrage.settings import Settings


class ClockOffsets(Protocol):
    def offset_seconds(self, exchange_id: str) -> float:
        """The exchange's clock minus ours, in seconds (0 while unknown)."""

# Orders go out at least this long before the entry deadline, so the trigger can never land on it, and every
# order can carry a receive window of at least a second (MEXC counts its window in whole seconds).
ENTRY_HEADROOM_SECONDS = 2.0


@dataclass(frozen=True)
class PipelineConfig:
    default_lead_seconds: float = 5
    default_leverage: LeverageRequest = 3
    min_funding_rate: Decimal = Decimal(0)
    funding_confirm_timeout_seconds: float = 120
    funding_poll_interval_seconds: float = 1.0
    leverage_sync_ahead_seconds: float = 30
    min_lead_seconds: Mapping[str, float] = field(default_factory=dict)
    max_clock_skew_ms: int = 1000
    clocks: ClockOffsets = field(default_factory=NoOffsets, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, clocks: ClockOffsets | None = None) -> PipelineConfig:
        return cls(
            max_clock_skew_ms=settings.max_clock_skew_ms,
            clocks=clocks or NoOffsets(),
            default_lead_seconds=settings.lead_seconds,
            default_leverage=settings.default_leverage,
            min_funding_rate=settings.min_funding_rate,
            funding_confirm_timeout_seconds=settings.funding_confirm_timeout_seconds,
            leverage_sync_ahead_seconds=settings.leverage_sync_ahead_seconds,
            min_lead_seconds={exchange: settings.min_lead_seconds(exchange) for exchange in settings.exchanges},
        )

    def exchange_min_leads(self, subscription: Subscription) -> list[float]:
        return [
            self.min_lead_seconds.get(subscription.primary_exchange, 0),
            self.min_lead_seconds.get(subscription.hedge_exchange, 0),
        ]

    def effective_lead(self, subscription: Subscription) -> float:
        """max(the subscription's lead, the default, each exchange's minimum entry lead), and always at least
        ENTRY_HEADROOM_SECONDS before the entry deadline (BingX's 30 s minimum → orders out 32 s ahead)."""
        lead = effective_lead_seconds(
            subscription.lead_seconds, self.default_lead_seconds, self.exchange_min_leads(subscription)
        )
        deadline_offset = (subscription.funding_time - self.entry_deadline(subscription)).total_seconds()
        return max(lead, deadline_offset + ENTRY_HEADROOM_SECONDS)

    def trigger_time(self, subscription: Subscription) -> datetime:
        """Our clock: the effective lead before the funding time as the exchange furthest ahead shows it."""
        lead = self.effective_lead(subscription) + self._ahead(subscription)
        return subscription.funding_time - timedelta(seconds=lead)

    def prepare_time(self, subscription: Subscription) -> datetime:
        """When leverage sync and the funding check run, so that only the orders go out at the trigger."""
        return self.trigger_time(subscription) - timedelta(seconds=self.leverage_sync_ahead_seconds)

    def entry_deadline(self, subscription: Subscription) -> datetime:
        """The last instant an order may execute, on the exchanges' clocks (orders carry it as `execute_before`);
        nothing is ever traded later."""
        return entry_deadline(subscription.funding_time, self.exchange_min_leads(subscription))

    def local_entry_deadline(self, subscription: Subscription) -> datetime:
        """The entry deadline on our clock: when the exchange furthest ahead reaches it."""
        return self.entry_deadline(subscription) - timedelta(seconds=self._ahead(subscription))

    def missed(self, subscription: Subscription, now: datetime) -> bool:
        """Too late to enter (`now` on our clock): the exchange furthest ahead has reached the entry deadline."""
        exchange_now = now + timedelta(seconds=self._ahead(subscription))
        return should_skip_missed(exchange_now, subscription.funding_time, self.exchange_min_leads(subscription))

    def funding_passed_at(self, subscription: Subscription) -> datetime:
        """Our clock: when the funding time has passed on both exchanges (the one furthest behind is last)."""
        return subscription.funding_time - timedelta(seconds=self._behind(subscription))

    def exchange_time(self, exchange_id: str, local: datetime) -> datetime:
        """What `exchange_id`'s clock shows when ours shows `local` (to compare our times with its stamps)."""
        return local + timedelta(seconds=self.clocks.offset_seconds(exchange_id))

    def _offsets(self, subscription: Subscription) -> tuple[float, float]:
        return (self.clocks.offset_seconds(subscription.primary_exchange),
                self.clocks.offset_seconds(subscription.hedge_exchange))

    def _ahead(self, subscription: Subscription) -> float:
        return max(self._offsets(subscription))

    def _behind(self, subscription: Subscription) -> float:
        return min(self._offsets(subscription))
