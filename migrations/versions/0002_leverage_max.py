"""subscriptions.leverage as text: an integer or 'max' (the highest leverage both exchanges allow)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _sqlite_table_copy() -> Iterator[None]:
    """SQLite cannot alter a column's type: batch mode copies the table (its constraints and indexes too) and drops
    the original, which orders, events and payments reference. Foreign keys are off while the table is swapped
    (SQLite ignores the pragma inside a transaction, which only happens on a fresh database whose tables are empty)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        if sqlite:
            op.execute("PRAGMA foreign_keys = ON")


def upgrade() -> None:
    with _sqlite_table_copy(), op.batch_alter_table("subscriptions") as batch:
        batch.alter_column(
            "leverage",
            existing_type=sa.Integer(),
            type_=sa.String(length=8),
            existing_nullable=True,
            postgresql_using="leverage::text",
        )


def downgrade() -> None:
    with _sqlite_table_copy():
        op.execute("UPDATE subscriptions SET leverage = NULL WHERE leverage = 'max'")  # 'max' has no integer form
        _alter_back()


def _alter_back() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column(
            "leverage",
            existing_type=sa.String(length=8),
            type_=sa.Integer(),
            existing_nullable=True,
            postgresql_using="leverage::integer",
        )
