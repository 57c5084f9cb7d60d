"""What a pipeline step is given: the journal to write to, the exchanges, market rules, timing, and the stop flag.

Steps never import the pipeline: they take this context, do their exchange work, and return a `StepResult` (or a
plain value) that the pipeline applies.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from arbitrage.db.models import Subscription
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.order_ids import client_order_id
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeConnector
from arbitrage.services.journal import SubscriptionJournal
from arbitrage.services.leverage_sync import LegVenue
from arbitrage.services.markets import MarketCatalog
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import SendPlan


@dataclass(frozen=True)
class StepContext:
    journal: SubscriptionJournal
    connectors: ConnectorRegistry
    markets: MarketCatalog
    config: PipelineConfig
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    plan: SendPlan | None = None  # send slots; without one, orders go at once

    def connector(self, exchange: str) -> ExchangeConnector:
        return self.connectors.get(exchange)

    def venues(self, subscription: Subscription) -> tuple[LegVenue, LegVenue]:
        return (
            LegVenue(self.connector(subscription.primary_exchange), subscription.primary_symbol),
            LegVenue(self.connector(subscription.hedge_exchange), subscription.hedge_symbol),
        )

    @staticmethod
    def client_order_id(subscription: Subscription, leg: Leg, purpose: OrderPurpose, attempt: int = 1) -> str:
        return client_order_id(subscription.id, subscription.created_at, leg, purpose, attempt)
