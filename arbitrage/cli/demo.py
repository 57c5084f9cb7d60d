"""`arbitrage demo`: one complete funding cycle against the built-in simulator. No keys, no network.

Starts the simulator in-process, points the daemon at it with a temporary SQLite database, subscribes to a
funding event about 20 s ahead, runs the real daemon until that subscription ends, and prints its timeline
(every event with its timestamp) and the result.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from arbitrage.daemon import Daemon
from arbitrage.db import repository as repo
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.models import SubscriptionEvent
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import Status, is_terminal
from arbitrage.settings import Settings, load_settings
from arbitrage.simulator.server import SimulatorServer

SYMBOL = "BTC/USDT:USDT"


@dataclass(frozen=True)
class DemoPlan:
    primary: str = "bybit"
    hedge: str = "binanceusdm"
    side: Side = Side.SHORT
    amount: Decimal = Decimal("0.01")
    funding_in_seconds: float = 20
    # A squeeze-level rate: one ordinary 0.01 % payment does not cover four taker fills, and the demo should
    # show a trade that is worth making. Shorts receive on the primary; the long hedge pays far less.
    primary_rate: Decimal = Decimal("0.003")
    hedge_rate: Decimal = Decimal("0.0001")
    leverage: int = 3
    lead_seconds: int = 5
    leverage_sync_ahead_seconds: int = 10
    timeout_seconds: float = 120


async def run_demo(console: Console | None = None, plan: DemoPlan = DemoPlan()) -> int:
    console = console or Console(width=None if _is_terminal() else 132)
    with tempfile.TemporaryDirectory(prefix="arbitrage-demo-") as workdir:
        async with SimulatorServer() as sim:
            funding_ms = (sim.engine.now() + int(plan.funding_in_seconds * 1000)) // 1000 * 1000
            for exchange, rate in ((plan.primary, plan.primary_rate), (plan.hedge, plan.hedge_rate)):
                sim.engine.set_funding(exchange, SYMBOL, rate=rate, next_funding_time=funding_ms)
            settings = _demo_settings(sim, Path(workdir) / "demo.db", plan)
            funding_time = datetime.fromtimestamp(funding_ms / 1000, UTC)
            subscription_id = await _subscribe(settings, plan, funding_time)
            console.print(
                f"[bold]arbitrage demo[/]: {plan.side} {plan.amount} {SYMBOL} on {plan.primary}, hedged on "
                f"{plan.hedge}; funding at {funding_time.isoformat()} (simulator at {sim.url})",
                soft_wrap=True,
            )
            status = await _run_until_done(settings, subscription_id, console, plan.timeout_seconds)
            await _print_result(settings, subscription_id, console)
    return 0 if status is Status.COMPLETED else 1


def _is_terminal() -> bool:
    return sys.stdout.isatty()


def _demo_settings(sim: SimulatorServer, database: Path, plan: DemoPlan) -> Settings:
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"api_key": api_key, "secret": secret, "base_url": sim.base_url(exchange_id)}
    return load_settings(
        None,
        database_url=f"sqlite:///{database}",
        exchanges=exchanges,
        lead_seconds=plan.lead_seconds,
        leverage_sync_ahead_seconds=plan.leverage_sync_ahead_seconds,
        poll_interval_seconds=0.5,
        funding_confirm_timeout_seconds=30,
    )


async def _subscribe(settings: Settings, plan: DemoPlan, funding_time: datetime) -> int:
    await upgrade_to_head(settings.database_url)
    async with Database(settings.database_url) as db, db.unit_of_work() as session:
        subscription = await repo.create_subscription(
            session, primary_exchange=plan.primary, primary_symbol=SYMBOL, hedge_exchange=plan.hedge,
            hedge_symbol=SYMBOL, side=plan.side, amount=plan.amount, funding_time=funding_time,
            lead_seconds=settings.lead_seconds, leverage=plan.leverage,
        )
        return subscription.id


async def _run_until_done(settings: Settings, subscription_id: int, console: Console, timeout: float) -> Status:
    daemon = Daemon(settings)
    daemon_task = asyncio.create_task(daemon.run())
    seen = 0
    status = Status.SCHEDULED
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with Database(settings.database_url) as db:
        try:
            while not is_terminal(status) and status is not Status.NEEDS_ATTENTION and loop.time() < deadline:
                if daemon_task.done():
                    daemon_task.result()  # surfaces the daemon's failure
                await asyncio.sleep(0.25)
                async with db.unit_of_work() as session:
                    subscription = await repo.require_subscription(session, subscription_id)
                    events = await repo.events_for(session, subscription_id)
                status = subscription.status
                for event in events[seen:]:
                    _print_event(console, event)
                seen = len(events)
        finally:
            daemon.stop.set()
            await daemon_task
    return status


def _print_event(console: Console, event: SubscriptionEvent) -> None:
    # one line each, never wrapped, and messages taken literally (an exchange's text may hold brackets)
    console.print(format_event(event), soft_wrap=True, markup=False, highlight=False)


def format_event(event: SubscriptionEvent) -> str:
    """One timeline line: the time as ISO-8601 UTC (as everywhere else), the event, its status change, message."""
    stamp = event.at.astimezone(UTC).isoformat(timespec="milliseconds")
    if event.to_status:
        change = f"{event.from_status} → {event.to_status}" if event.from_status else f"→ {event.to_status}"
    else:
        change = ""
    return f"  {stamp} {event.event:<20} {change:<28} {event.message or ''}".rstrip()


async def _print_result(settings: Settings, subscription_id: int, console: Console) -> None:
    async with Database(settings.database_url) as db, db.unit_of_work() as session:
        subscription = await repo.require_subscription(session, subscription_id)
        orders = await repo.orders_for(session, subscription_id)
        payments = await repo.payments_for(session, subscription_id)
    table = Table(title="orders")
    for column in ("leg", "purpose", "exchange", "side", "amount", "filled", "avg price", "fee", "status"):
        table.add_column(column)
    for order in orders:
        table.add_row(order.leg, order.purpose, order.exchange, order.side, str(order.amount), str(order.filled),
                      str(order.average_price or "-"), str(order.fee or "-"), order.status)
    console.print(table)
    for payment in payments:
        console.print(f"  funding {payment.exchange:<12} {payment.amount:+} USDT at {payment.paid_at.isoformat()}")
    console.print(
        f"[bold]{subscription.status}[/]: funding {subscription.funding_received} USDT, fees {subscription.fees} "
        f"USDT, realized PnL {subscription.realized_pnl} USDT"
        + (f"\n[red]{escape(subscription.error_message)}[/]" if subscription.error_message else "")
    )
