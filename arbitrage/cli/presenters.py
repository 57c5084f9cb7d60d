"""How rows look to users: JSON-ready dicts (Decimals as strings, ISO-8601 times with offset) and rich tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich import box
from rich.table import Table

from arbitrage.db.models import (
    Base,
    FundingPayment,
    Order,
    Subscription,
    SubscriptionEvent,
)
from arbitrage.db.raw_rows import UnreadableSubscription
from arbitrage.db.session import json_default
from arbitrage.domain.status import IN_PROGRESS
from arbitrage.services.pipeline_config import PipelineConfig

# `list` is read at 80 columns: the one long exchange id is shortened there (its alias).
_SHORT_VENUE = {"binanceusdm": "binance"}
_LIST_COLUMNS = (
    ("id", "right"), ("pair", "left"), ("side", "left"), ("amount", "right"), ("lev", "right"),
    ("funding UTC", "left"), ("left", "right"), ("status", "left"),
)
_UNBROKEN = {"id", "side", "lev", "funding UTC", "left", "status"}  # the pair and the amount may wrap


def json_value(value: Any) -> Any:
    """The JSON form of a value, nested dicts and lists included (same scalars as the database's JSON)."""
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    try:
        return json_default(value)
    except TypeError:
        return value


def row_to_dict(row: Base) -> dict[str, Any]:
    """Every column of the row, by its SQL name."""
    return {column.key: json_value(getattr(row, column.key)) for column in row.__table__.columns}


def to_json(value: Any) -> str:
    return json.dumps(json_value(value), indent=2)


def format_time_left(target: datetime, now: datetime) -> str:
    """`2h 03m` style; `-` once the time has passed."""
    seconds = int((target - now) // timedelta(seconds=1))
    if seconds <= 0:
        return "-"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def format_decimal(value: Decimal | None) -> str:
    return "-" if value is None else format(value, "f")


def format_time(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()


def format_pair(subscription: Subscription) -> str:
    if subscription.primary_symbol == subscription.hedge_symbol:
        return f"{subscription.primary_exchange}→{subscription.hedge_exchange} {subscription.primary_symbol}"
    return (
        f"{subscription.primary_exchange} {subscription.primary_symbol}→"
        f"{subscription.hedge_exchange} {subscription.hedge_symbol}"
    )


def format_leverage(subscription: Subscription, default_leverage: int) -> str:
    """What was set on both exchanges, else what will be asked for at the trigger (the default when none)."""
    if subscription.applied_leverage is not None:
        return f"{subscription.applied_leverage}x"
    if subscription.leverage is None:
        return f"{default_leverage}x"
    return "max" if subscription.leverage == "max" else f"{subscription.leverage}x"


def _venue(exchange: str) -> str:
    return _SHORT_VENUE.get(exchange, exchange)


def _coin(subscription: Subscription) -> str:
    primary, hedge = (symbol.split("/", 1)[0] for symbol in (subscription.primary_symbol, subscription.hedge_symbol))
    return primary if primary == hedge else f"{primary}|{hedge}"


def subscription_to_dict(subscription: Subscription, config: PipelineConfig) -> dict[str, Any]:
    """Every column, `leverage` always a string (`"5"`, `"max"`, `"default"`), and the times the daemon acts at."""
    row = row_to_dict(subscription)
    row["leverage"] = "default" if subscription.leverage is None else str(subscription.leverage)
    row["trigger_at"] = config.trigger_time(subscription).isoformat()
    row["entry_deadline"] = config.entry_deadline(subscription).isoformat()
    return row


@dataclass(frozen=True)
class InvalidRow:
    """A subscription row the models cannot read (edited by hand): its columns as stored text."""

    problem: UnreadableSubscription
    columns: dict[str, str | None]


def invalid_row_to_dict(row: UnreadableSubscription | InvalidRow) -> dict[str, Any]:
    """`{"id": 5, "invalid": {"status": "'BOGUS'"}}` (+ every column as stored text, for `show`)."""
    problem = row.problem if isinstance(row, InvalidRow) else row
    shown: dict[str, Any] = {"id": problem.subscription_id, "invalid": problem.problems}
    if isinstance(row, InvalidRow):
        shown["stored"] = row.columns
    return shown


def invalid_detail_table(row: InvalidRow) -> Table:
    table = Table("field", "value", title=f"subscription {row.problem.subscription_id} (INVALID ROW)",
                  show_header=False)
    for key, value in row.columns.items():
        invalid = key in row.problem.problems
        table.add_row(key, f"INVALID: {value!r}" if invalid else ("-" if value is None else value))
    return table


def subscriptions_table(
    subscriptions: Sequence[Subscription], now: datetime, default_leverage: int,
    invalid: Sequence[UnreadableSubscription] = (),
) -> Table:
    """Fits 80 columns for the usual rows; a longer cell wraps instead of being cut. Rows that cannot be read
    come last, marked invalid with their raw values."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False)
    for header, justify in _LIST_COLUMNS:
        table.add_column(header, justify=justify, overflow="fold", no_wrap=header in _UNBROKEN)
    for subscription in subscriptions:
        live = subscription.status in IN_PROGRESS
        table.add_row(
            str(subscription.id),
            f"{_venue(subscription.primary_exchange)}→{_venue(subscription.hedge_exchange)} {_coin(subscription)}",
            str(subscription.side).lower(),
            format_decimal(subscription.amount),
            format_leverage(subscription, default_leverage),
            subscription.funding_time.astimezone(UTC).strftime("%m-%d %H:%M"),
            format_time_left(subscription.funding_time, now) if live else "",
            str(subscription.status),
        )
    for problem in invalid:
        shown = ", ".join(f"{column}={value}" for column, value in problem.problems.items())
        table.add_row(str(problem.subscription_id), f"invalid row: {shown}", "", "", "", "", "", "INVALID")
    return table


def subscription_detail_table(
    subscription: Subscription, now: datetime, config: PipelineConfig, default_leverage: int
) -> Table:
    table = Table("field", "value", title=f"subscription {subscription.id}", show_header=False)
    for key, value in subscription_to_dict(subscription, config).items():
        table.add_row(key, "-" if value is None else str(value))
    table.add_row("leverage (at the trigger)", format_leverage(subscription, default_leverage))
    if subscription.status in IN_PROGRESS:
        table.add_row("time_left", format_time_left(subscription.funding_time, now))
    return table


def orders_table(orders: Iterable[Order]) -> Table:
    table = Table(
        "client order id",
        "leg",
        "purpose",
        "exchange",
        "side",
        "amount",
        "filled",
        "avg price",
        "fee",
        "status",
        title="orders",
    )
    for order in orders:
        table.add_row(
            order.client_order_id,
            str(order.leg),
            str(order.purpose),
            order.exchange,
            str(order.side),
            format_decimal(order.amount),
            format_decimal(order.filled),
            format_decimal(order.average_price),
            "-" if order.fee is None else f"{format_decimal(order.fee)} {order.fee_currency or ''}".strip(),
            str(order.status) + (f" ({order.error_message})" if order.error_message else ""),
        )
    return table


def events_table(events: Iterable[SubscriptionEvent]) -> Table:
    table = Table("at", "event", "from", "to", "message", title="events")
    for event in events:
        table.add_row(
            format_time(event.at), event.event, event.from_status or "-", event.to_status or "-", event.message or ""
        )
    return table


def payments_table(payments: Iterable[FundingPayment]) -> Table:
    table = Table("paid at", "exchange", "symbol", "amount", "payment id", title="funding payments")
    for payment in payments:
        table.add_row(
            format_time(payment.paid_at),
            payment.exchange,
            payment.symbol,
            format_decimal(payment.amount),
            payment.exchange_payment_id,
        )
    return table
