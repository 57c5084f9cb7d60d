"""How rows look to users: JSON-ready dicts (Decimals as strings, ISO-8601 times with offset) and rich tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.table import Table

from arbitrage.db.models import (
    Base,
    FundingPayment,
    Order,
    Subscription,
    SubscriptionEvent,
)
from arbitrage.db.session import json_default


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


def format_leverage(subscription: Subscription) -> str:
    if subscription.applied_leverage is not None:
        return f"{subscription.applied_leverage}x"
    if subscription.leverage is None:
        return "default"
    return "max" if subscription.leverage == "max" else f"{subscription.leverage}x"


def subscriptions_table(subscriptions: Sequence[Subscription], now: datetime) -> Table:
    table = Table("id", "pair", "side", "amount", "leverage", "funding time", "time left", "status")
    for subscription in subscriptions:
        table.add_row(
            str(subscription.id),
            format_pair(subscription),
            str(subscription.side),
            format_decimal(subscription.amount),
            format_leverage(subscription),
            format_time(subscription.funding_time),
            format_time_left(subscription.funding_time, now),
            str(subscription.status),
        )
    return table


def subscription_detail_table(subscription: Subscription, now: datetime) -> Table:
    table = Table("field", "value", title=f"subscription {subscription.id}", show_header=False)
    for key, value in row_to_dict(subscription).items():
        table.add_row(key, "-" if value is None else str(value))
    table.add_row("trigger_at", subscription.trigger_at.isoformat())
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
