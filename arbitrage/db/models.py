"""SQLAlchemy models. Users read these tables in SQL, so table and column names are part of the interface.

The schema is created and changed only by Alembic (`migrations/`); the application never calls create_all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from arbitrage.db.types import EnumText, ExactDecimal, UTCDateTime
from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.status import OrderStatus, Status

# Deterministic constraint names, so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, enum_class: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum_class)
    return f"{column} IN ({values})"


LEVERAGE_MAX = "max"


class CreatedBy(StrEnum):
    """Who created a subscription: `arbitrage subscribe` (and rows inserted by hand), or auto-subscribe."""

    CLI = "cli"
    AUTO = "auto"


class AutoOutcome(StrEnum):
    CREATED = "CREATED"
    REJECTED = "REJECTED"  # by the auto-subscribe rules
    REFUSED = "REFUSED"  # allowed by the rules, refused by subscribe's checks (or an exchange)


class LeverageSetting(TypeDecorator[int | str]):
    """A requested leverage as users read it in SQL: '3', '20' or 'max' (the highest both exchanges allow).

    Python sees an int or the string 'max'; anything else is refused before it reaches the database.
    """

    impl = String(8)
    cache_ok = True

    def process_bind_param(self, value: int | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value == LEVERAGE_MAX:
            return LEVERAGE_MAX
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"leverage {value!r} must be an integer >= 1 or 'max'")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> int | str | None:
        if value is None or value == LEVERAGE_MAX:
            return value
        return int(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: ExactDecimal(),
        dict[str, Any]: JSON(),
    }


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(_one_of("side", Side), name="side"),
        CheckConstraint(_one_of("status", Status), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("lead_seconds >= 0", name="lead_seconds_non_negative"),
        Index(None, "status", "funding_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    primary_exchange: Mapped[str] = mapped_column(String(32))
    primary_symbol: Mapped[str] = mapped_column(String(64))
    hedge_exchange: Mapped[str] = mapped_column(String(32))
    hedge_symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[Side] = mapped_column(EnumText(Side, 8))  # the primary leg's side
    amount: Mapped[Decimal]  # base units, same on both legs
    # requested: an integer or 'max'; None: ARBITRAGE_DEFAULT_LEVERAGE, resolved at trigger time
    leverage: Mapped[int | Literal["max"] | None] = mapped_column(LeverageSetting())
    applied_leverage: Mapped[int | None]  # what both exchanges confirmed
    funding_time: Mapped[datetime]
    lead_seconds: Mapped[int]
    status: Mapped[Status] = mapped_column(EnumText(Status, 32), default=Status.SCHEDULED)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    funding_received: Mapped[Decimal | None]
    fees: Mapped[Decimal | None]
    realized_pnl: Mapped[Decimal | None]
    price_pnl: Mapped[Decimal | None]  # both legs' entry-to-exit price PnL, part of realized_pnl
    created_by: Mapped[CreatedBy] = mapped_column(EnumText(CreatedBy, 16), default=CreatedBy.CLI,
                                                  server_default=CreatedBy.CLI.value)
    # What the scanner expected when the subscription was created (auto-subscribe), in USDT for estimate_notional.
    estimate_notional: Mapped[Decimal | None]
    estimate_funding: Mapped[Decimal | None]  # + received
    estimate_fees: Mapped[Decimal | None]  # + paid
    estimate_spread: Mapped[Decimal | None]  # + paid
    estimate_net: Mapped[Decimal | None]

    def __repr__(self) -> str:
        return f"<Subscription {self.id} {self.primary_exchange}→{self.hedge_exchange} {self.status}>"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("leg", Leg), name="leg"),
        CheckConstraint(_one_of("purpose", OrderPurpose), name="purpose"),
        CheckConstraint(_one_of("side", OrderSide), name="side"),
        CheckConstraint(_one_of("status", OrderStatus), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    leg: Mapped[Leg] = mapped_column(EnumText(Leg, 8))
    purpose: Mapped[OrderPurpose] = mapped_column(EnumText(OrderPurpose, 8))
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[OrderSide] = mapped_column(EnumText(OrderSide, 4))
    amount: Mapped[Decimal]  # base units
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[OrderStatus] = mapped_column(EnumText(OrderStatus, 32), default=OrderStatus.PENDING)
    filled: Mapped[Decimal] = mapped_column(default=Decimal(0))
    average_price: Mapped[Decimal | None]
    fee: Mapped[Decimal | None]
    fee_currency: Mapped[str | None] = mapped_column(String(16))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Order {self.client_order_id} {self.leg} {self.purpose} {self.side} {self.amount} {self.status}>"


class SubscriptionEvent(Base):
    """Append-only audit trail: every status change and every notable step of a subscription."""

    __tablename__ = "subscription_events"
    __table_args__ = (Index(None, "subscription_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]


class SymbolFilter(Base):
    """Per exchange and symbol trading rules, refreshed from the exchanges' market data."""

    __tablename__ = "symbol_filters"
    __table_args__ = (UniqueConstraint("exchange", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    tick_size: Mapped[Decimal | None]
    step_size: Mapped[Decimal | None]  # base units
    min_qty: Mapped[Decimal | None]  # base units
    min_notional: Mapped[Decimal | None]  # quote units
    contract_size: Mapped[Decimal | None]  # base units per contract (MEXC); 1 elsewhere
    max_leverage: Mapped[int | None]
    leverage_tiers: Mapped[list[Any] | None] = mapped_column(JSON)
    funding_interval_hours: Mapped[int | None]
    delisted_at: Mapped[datetime | None]  # delisted symbols are marked, not deleted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutoDecision(Base):
    """One auto-subscribe decision about one opportunity of a scan: created, rejected by the rules (and why), or
    refused by subscribe's checks."""

    __tablename__ = "auto_decisions"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", AutoOutcome), name="outcome"),
        Index(None, "funding_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    funding_time: Mapped[datetime]
    symbol: Mapped[str] = mapped_column(String(64))
    primary_exchange: Mapped[str] = mapped_column(String(32))
    hedge_exchange: Mapped[str] = mapped_column(String(32))
    side: Mapped[Side] = mapped_column(EnumText(Side, 8))
    notional: Mapped[Decimal]
    expected_net: Mapped[Decimal]
    outcome: Mapped[AutoOutcome] = mapped_column(EnumText(AutoOutcome, 16))
    reason: Mapped[str | None] = mapped_column(Text)  # every broken rule, "; " between them
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"))


class FundingPayment(Base):
    """A subscription's part of a funding payment: `amount` > 0 received, < 0 paid.

    One exchange payment covers the account's whole net position in a symbol, so when several subscriptions
    share an exchange and symbol each records its own share under the same exchange_payment_id.
    """

    __tablename__ = "funding_payments"
    __table_args__ = (UniqueConstraint("subscription_id", "exchange", "exchange_payment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal]
    paid_at: Mapped[datetime]
    # The exchange's id; when a venue has none, the connector derives a stable one (e.g. symbol + timestamp).
    exchange_payment_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
