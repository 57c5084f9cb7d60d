"""Column types that behave the same on SQLite and PostgreSQL.

- `UTCDateTime`: only timezone-aware values are accepted; they are stored as UTC and read back as aware UTC
  (SQLite keeps no offset, so UTC is attached on the way out).
- `ExactDecimal`: `Numeric(36, 18)` on PostgreSQL; on SQLite, whose NUMERIC is a float, the digits are stored as
  text so that a Decimal reads back exactly. Floats are refused: money never passes through float.
- `EnumText`: a StrEnum stored as its plain string value (users filter on these strings in SQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

DECIMAL_PRECISION = 36
DECIMAL_SCALE = 18
_QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)
# The default context keeps 28 digits; the column holds 36.
_CONTEXT = Context(prec=DECIMAL_PRECISION, traps=[InvalidOperation])


def canonical_decimal(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation: 0.010000 → 0.01, 100.00 → 100."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1), context=_CONTEXT)
    return value.normalize(context=_CONTEXT)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    impl = Numeric(DECIMAL_PRECISION, DECIMAL_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # 1 sign + 18 integer digits + point + 18 decimals fits in 40 characters
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(DECIMAL_PRECISION, DECIMAL_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Decimal | str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise TypeError(f"expected a Decimal, got {type(value).__name__} (money never passes through float)")
        decimal = Decimal(value)
        if not decimal.is_finite():
            raise ValueError(f"{decimal} cannot be stored: only finite numbers")
        # PostgreSQL rounds to the column's scale; do the same on SQLite so both read back the same value.
        try:
            decimal = decimal.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_CONTEXT)
        except InvalidOperation:
            raise ValueError(f"{decimal} does not fit NUMERIC({DECIMAL_PRECISION}, {DECIMAL_SCALE})") from None
        if dialect.name == "sqlite":
            return format(canonical_decimal(decimal), "f")
        return decimal

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return canonical_decimal(Decimal(str(value)) if not isinstance(value, Decimal) else value)


class EnumText(TypeDecorator[StrEnum]):
    """A StrEnum column stored as VARCHAR; a CHECK constraint (declared on the table) keeps SQL writers honest."""

    impl = String  # the class: TypeDecorator instantiates it with this column's length
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return str(self.enum_class(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum_class(value)
