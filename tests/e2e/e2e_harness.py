"""Drives the real daemon against the simulator and reads a subscription's story back from its rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from arbitrage.daemon import Daemon
from arbitrage.db import repository as repo
from arbitrage.db.models import FundingPayment, Order, Subscription, SubscriptionEvent
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import Status, is_terminal
from arbitrage.settings import Settings, load_settings
from arbitrage.simulator.order_requests import ORDER_PATHS  # noqa: F401 (the e2e tests import it from here)
from arbitrage.simulator.server import SimulatorServer

# Short enough for a fast suite, long enough that the trigger comes before the entry deadline (funding − 1 s).
LEAD_SECONDS = 2
# Endpoints per venue, as the simulator logs them (without the /<exchange> prefix).
LEVERAGE_PATHS = {
    "binanceusdm": "/fapi/v1/leverage",
    "bybit": "/v5/position/set-leverage",
    "bingx": "/openApi/swap/v2/trade/leverage",
    "mexc": "/api/v1/private/position/change_leverage",
}
SYMBOL_IDS = {"binanceusdm": "{b}{q}", "bybit": "{b}{q}", "bingx": "{b}-{q}", "mexc": "{b}_{q}"}


def exchange_symbol(exchange: str, symbol: str) -> str:
    base, quote = symbol.split(":")[0].split("/")
    return SYMBOL_IDS[exchange].format(b=base, q=quote)


def sim_settings(sim: SimulatorServer, database_url: str, *, every_exchange: dict[str, Any] | None = None,
                 **overrides: Any) -> Settings:
    """`every_exchange`: settings for each exchange, e.g. {"rate_limit_scale": 100}."""
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {
            "api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id),
            "min_lead_seconds": 0,  # BingX's real 30 s would make every test wait half a minute
            **(every_exchange or {}),
        }
    values: dict[str, Any] = {
        "database_url": database_url,
        "exchanges": exchanges,
        "lead_seconds": LEAD_SECONDS,
        "leverage_sync_ahead_seconds": 1,
        "poll_interval_seconds": 0.2,
        "funding_confirm_timeout_seconds": 10,
        "order_timeout_seconds": 3,
    }
    return load_settings(None, **{**values, **overrides})


@dataclass
class Story:
    """One subscription's rows after the run."""

    subscription: Subscription
    orders: list[Order]
    events: list[SubscriptionEvent]
    payments: list[FundingPayment]

    def event_names(self) -> list[str]:
        return [event.event for event in self.events]


class DaemonHarness:
    def __init__(self, sim: SimulatorServer, settings: Settings) -> None:
        self.sim = sim
        self.settings = settings
        self.db = Database(settings.database_url)
        self.daemon: Daemon | None = None
        self.task: asyncio.Task[None] | None = None

    async def subscribe(
        self, primary: str, hedge: str, side: Side, *, symbol: str = "BTC/USDT:USDT", amount: str = "0.01",
        funding_in: float = 4.0, leverage: int | None = 3, set_funding_time: bool = True,
    ) -> tuple[int, datetime]:
        funding_ms = self.sim.engine.now() + int(funding_in * 1000)
        funding_ms -= funding_ms % 1000  # exchanges report whole-second funding stamps here
        if set_funding_time:
            for exchange in (primary, hedge):
                self.sim.engine.set_funding(exchange, symbol, next_funding_time=funding_ms)
        funding_time = datetime.fromtimestamp(funding_ms / 1000, UTC)
        async with self.db.unit_of_work() as session:
            subscription = await repo.create_subscription(
                session, primary_exchange=primary, primary_symbol=symbol, hedge_exchange=hedge,
                hedge_symbol=symbol, side=side, amount=Decimal(amount), funding_time=funding_time,
                lead_seconds=LEAD_SECONDS, leverage=leverage,
            )
        return subscription.id, funding_time

    async def start(self) -> None:
        self.daemon = Daemon(self.settings)
        self.task = asyncio.create_task(self.daemon.run())

    async def wait_until_finished(self, ids: Iterable[int], timeout: float = 30) -> dict[int, Status]:
        """Until every subscription is terminal or NEEDS_ATTENTION."""
        ids = list(ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            statuses = await self.statuses(ids)
            if all(is_terminal(s) or s is Status.NEEDS_ATTENTION for s in statuses.values()):
                return statuses
            if self.task is not None and self.task.done():
                self.task.result()
            if loop.time() > deadline:
                raise AssertionError(f"subscriptions still running after {timeout} s: {statuses}")
            await asyncio.sleep(0.1)

    async def statuses(self, ids: Iterable[int]) -> dict[int, Status]:
        async with self.db.unit_of_work() as session:
            return {i: (await repo.require_subscription(session, i)).status for i in ids}

    async def story(self, subscription_id: int) -> Story:
        async with self.db.unit_of_work() as session:
            return Story(
                await repo.require_subscription(session, subscription_id),
                list(await repo.orders_for(session, subscription_id)),
                list(await repo.events_for(session, subscription_id)),
                list(await repo.payments_for(session, subscription_id)),
            )

    async def stop(self) -> None:
        if self.daemon is not None and self.task is not None:
            self.daemon.stop.set()
            await asyncio.wait_for(self.task, timeout=30)
        await self.db.dispose()

    def requests(self, exchange: str, path: str, symbol: str | None = None) -> list[Any]:
        records = self.sim.requests.query(exchange=exchange, path=path, method="POST")
        if symbol is None:
            return records
        wanted = exchange_symbol(exchange, symbol)
        return [r for r in records if str(r.params.get("symbol")) == wanted]
