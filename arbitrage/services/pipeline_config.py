"""The pipeline's settings and the timing rules derived from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from arbitrage.db.models import Subscription
from arbitrage.domain.funding import entry_deadline, effective_lead_seconds
from arbitrage.domain.leverage import LeverageRequest
from arbitrage.settings import Settings

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

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineConfig:
        return cls(
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
        return subscription.funding_time - timedelta(seconds=self.effective_lead(subscription))

    def prepare_time(self, subscription: Subscription) -> datetime:
        """When leverage sync and the funding check run, so that only the orders go out at the trigger."""
        return self.trigger_time(subscription) - timedelta(seconds=self.leverage_sync_ahead_seconds)

    def entry_deadline(self, subscription: Subscription) -> datetime:
        """The last instant an order may go out; nothing is ever traded later."""
        return entry_deadline(subscription.funding_time, self.exchange_min_leads(subscription))
