"""auto-subscribe and honest results: subscriptions.created_by, the estimate that justified a subscription, its
realized price PnL, and the auto_decisions log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECIMAL_COLUMNS = ("price_pnl", "estimate_notional", "estimate_funding", "estimate_fees", "estimate_spread",
                   "estimate_net")


def _decimal() -> sa.types.TypeEngine:
    # SQLite's NUMERIC is a float: there the exact digits are stored as text (see arbitrage/db/types.py).
    return sa.Numeric(precision=36, scale=18).with_variant(sa.String(length=40), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy on SQLite): every existing row was created by the CLI or by hand.
    op.add_column("subscriptions", sa.Column("created_by", sa.String(length=16), nullable=False,
                                             server_default="cli"))
    for column in DECIMAL_COLUMNS:
        op.add_column("subscriptions", sa.Column(column, _decimal(), nullable=True))
    op.create_table(
        "auto_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("funding_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("primary_exchange", sa.String(length=32), nullable=False),
        sa.Column("hedge_exchange", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("notional", _decimal(), nullable=False),
        sa.Column("expected_net", _decimal(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("outcome IN ('CREATED', 'REJECTED', 'REFUSED')", name=op.f("ck_auto_decisions_outcome")),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_auto_decisions_subscription_id_subscriptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_decisions")),
    )
    op.create_index(op.f("ix_auto_decisions_funding_time"), "auto_decisions", ["funding_time"])


def downgrade() -> None:
    op.drop_index(op.f("ix_auto_decisions_funding_time"), table_name="auto_decisions")
    op.drop_table("auto_decisions")
    # SQLite (3.35+) drops these columns in place: none has a constraint or an index.
    for column in ("created_by", *DECIMAL_COLUMNS):
        op.drop_column("subscriptions", column)
