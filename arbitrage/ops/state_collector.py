"""Metrics read at scrape time from the database and the live connectors, not counted as things happen.

Subscriptions by status and the money totals come from the rows: they are the truth (the CLI and SQL change
them too), they survive restarts, and funding and PnL can be negative, which a counter cannot express. `/metrics`
calls `refresh()` (two small queries) right before rendering, so a scrape is never staler than itself; when the
database does not answer, the last values stay and `arbitrage_database_up` says 0. Clock offsets, loaded markets
and rate-budget use are read from the connectors as they are at that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.domain.status import Status
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.logging import get_logger
from arbitrage.ops.health import measured_clock

log = get_logger(__name__)

REFRESH_TIMEOUT_SECONDS = 2.0
# Row columns exposed as gauges: (column, metric name, help).
_TOTALS = (
    ("funding_received", "arbitrage_funding_received_usdt",
     "Funding received (negative: paid), summed over every completed subscription, in USDT."),
    ("fees", "arbitrage_fees_usdt", "Trading fees paid in USDT, summed over every completed subscription."),
    ("realized_pnl", "arbitrage_realized_pnl_usdt",
     "Realized PnL (price moves + funding − fees), summed over every completed subscription, in USDT."),
)


class DaemonStateCollector(Collector):
    def __init__(self, db: Database, connectors: ConnectorRegistry,
                 refresh_timeout_seconds: float = REFRESH_TIMEOUT_SECONDS) -> None:
        self.db = db
        self.connectors = connectors
        self.refresh_timeout_seconds = refresh_timeout_seconds
        self._counts: dict[Status, int] | None = None
        self._totals: dict[str, Decimal] | None = None
        self._database_up = False

    async def refresh(self) -> None:
        try:
            self._counts, self._totals = await asyncio.wait_for(self._read(), self.refresh_timeout_seconds)
            self._database_up = True
        except Exception as error:  # a scrape must still answer; the gauge says the rows are stale
            self._database_up = False
            log.warning("metrics_database_unreadable", error=type(error).__name__)

    async def _read(self) -> tuple[dict[Status, int], dict[str, Decimal]]:
        async with self.db.unit_of_work() as session:
            return await repo.count_by_status(session), await repo.result_totals(session)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("arbitrage_database_up", "1 when the last scrape could read the database.",
                                value=int(self._database_up))
        yield from self._rows()
        yield from self._exchanges()

    def _rows(self) -> Iterator[GaugeMetricFamily]:
        by_status = GaugeMetricFamily("arbitrage_subscriptions", "Subscriptions by status.", labels=["status"])
        attention = GaugeMetricFamily(
            "arbitrage_needs_attention_subscriptions",
            "Subscriptions in NEEDS_ATTENTION: exposure may remain, a human must look.")
        if self._counts is not None:
            for status, count in self._counts.items():
                by_status.add_metric([status.value], count)
            attention.add_metric([], self._counts[Status.NEEDS_ATTENTION])
        yield by_status
        yield attention
        for key, name, documentation in _TOTALS:
            family = GaugeMetricFamily(name, documentation)
            if self._totals is not None:
                family.add_metric([], float(self._totals[key]))
            yield family

    def _exchanges(self) -> Iterator[GaugeMetricFamily]:
        offset = GaugeMetricFamily("arbitrage_exchange_clock_offset_seconds",
                                   "The exchange's clock minus ours, as last measured.", labels=["exchange"])
        uncertainty = GaugeMetricFamily("arbitrage_exchange_clock_uncertainty_seconds",
                                        "Half the round trip of that measurement.", labels=["exchange"])
        loaded = GaugeMetricFamily("arbitrage_exchange_markets_loaded", "1 when the exchange's markets are loaded.",
                                   labels=["exchange"])
        usage = GaugeMetricFamily(
            "arbitrage_rate_budget_usage_ratio",
            "How full the fullest window of the exchange account's request budget is now (0..1).",
            labels=["exchange", "budget"])
        waiting = GaugeMetricFamily("arbitrage_rate_budget_waiting_requests",
                                    "Requests waiting for room in the budget now.", labels=["exchange", "budget"])
        for exchange_id, connector in sorted(self.connectors.connectors.items()):
            loaded.add_metric([exchange_id], int(connector.markets_loaded))
            clock = measured_clock(connector)
            if clock is not None:
                offset.add_metric([exchange_id], clock.offset_ms / 1000)
                uncertainty.add_metric([exchange_id], clock.uncertainty_ms / 1000)
            budget = getattr(connector, "budget", None)
            if budget is not None:
                for name, (ratio, queued) in budget.usage().items():
                    usage.add_metric([exchange_id, name], ratio)
                    waiting.add_metric([exchange_id, name], queued)
        yield from (offset, uncertainty, loaded, usage, waiting)
