"""initial schema: subscriptions, orders, subscription_events, symbol_filters, funding_payments

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal() -> sa.types.TypeEngine:
    # SQLite's NUMERIC is a float: there the exact digits are stored as text (see arbitrage/db/types.py).
    return sa.Numeric(precision=36, scale=18).with_variant(sa.String(length=40), "sqlite")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


STATUSES = "'SCHEDULED', 'SYNCING_LEVERAGE', 'OPENING', 'OPEN', 'CLOSING', 'COMPLETED', 'SKIPPED', 'CANCELLED', "
STATUSES += "'ERROR', 'NEEDS_ATTENTION'"
ORDER_STATUSES = "'PENDING', 'SENT', 'FILLED', 'PARTIALLY_FILLED', 'REJECTED', 'FAILED', 'UNKNOWN'"


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("primary_exchange", sa.String(length=32), nullable=False),
        sa.Column("primary_symbol", sa.String(length=64), nullable=False),
        sa.Column("hedge_exchange", sa.String(length=32), nullable=False),
        sa.Column("hedge_symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("amount", _decimal(), nullable=False),
        sa.Column("leverage", sa.Integer(), nullable=True),
        sa.Column("applied_leverage", sa.Integer(), nullable=True),
        sa.Column("funding_time", _time(), nullable=False),
        sa.Column("lead_seconds", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("status_changed_at", _time(), nullable=False),
        sa.Column("funding_received", _decimal(), nullable=True),
        sa.Column("fees", _decimal(), nullable=True),
        sa.Column("realized_pnl", _decimal(), nullable=True),
        sa.CheckConstraint("side IN ('LONG', 'SHORT')", name=op.f("ck_subscriptions_side")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_subscriptions_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_subscriptions_amount_positive")),
        sa.CheckConstraint("lead_seconds >= 0", name=op.f("ck_subscriptions_lead_seconds_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(
        op.f("ix_subscriptions_status_funding_time"), "subscriptions", ["status", "funding_time"], unique=False
    )

    op.create_table(
        "symbol_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("tick_size", _decimal(), nullable=True),
        sa.Column("step_size", _decimal(), nullable=True),
        sa.Column("min_qty", _decimal(), nullable=True),
        sa.Column("min_notional", _decimal(), nullable=True),
        sa.Column("contract_size", _decimal(), nullable=True),
        sa.Column("max_leverage", sa.Integer(), nullable=True),
        sa.Column("leverage_tiers", sa.JSON(), nullable=True),
        sa.Column("funding_interval_hours", sa.Integer(), nullable=True),
        sa.Column("delisted_at", _time(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_symbol_filters")),
        sa.UniqueConstraint("exchange", "symbol", name=op.f("uq_symbol_filters_exchange_symbol")),
    )

    op.create_table(
        "funding_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("amount", _decimal(), nullable=False),
        sa.Column("paid_at", _time(), nullable=False),
        sa.Column("exchange_payment_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_funding_payments_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_payments")),
        sa.UniqueConstraint(
            "subscription_id",
            "exchange",
            "exchange_payment_id",
            name=op.f("uq_funding_payments_subscription_id_exchange_exchange_payment_id"),
        ),
    )
    op.create_index(op.f("ix_funding_payments_subscription_id"), "funding_payments", ["subscription_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("leg", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("exchange", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("amount", _decimal(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("exchange_order_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("filled", _decimal(), nullable=False),
        sa.Column("average_price", _decimal(), nullable=True),
        sa.Column("fee", _decimal(), nullable=True),
        sa.Column("fee_currency", sa.String(length=16), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time(), nullable=True),
        sa.Column("acknowledged_at", _time(), nullable=True),
        sa.CheckConstraint("leg IN ('PRIMARY', 'HEDGE')", name=op.f("ck_orders_leg")),
        sa.CheckConstraint("purpose IN ('OPEN', 'CLOSE', 'UNWIND')", name=op.f("ck_orders_purpose")),
        sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_orders_side")),
        sa.CheckConstraint(f"status IN ({ORDER_STATUSES})", name=op.f("ck_orders_status")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_orders_amount_positive")),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_orders_subscription_id_subscriptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
    )
    op.create_index(op.f("ix_orders_subscription_id"), "orders", ["subscription_id"], unique=False)

    op.create_table(
        "subscription_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_events_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_events")),
    )
    op.create_index(
        op.f("ix_subscription_events_subscription_id_id"),
        "subscription_events",
        ["subscription_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_subscription_events_subscription_id_id"), table_name="subscription_events")
    op.drop_table("subscription_events")
    op.drop_index(op.f("ix_orders_subscription_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_funding_payments_subscription_id"), table_name="funding_payments")
    op.drop_table("funding_payments")
    op.drop_table("symbol_filters")
    op.drop_index(op.f("ix_subscriptions_status_funding_time"), table_name="subscriptions")
    op.drop_table("subscriptions")
