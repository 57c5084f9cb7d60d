"""ccxt's unified dicts → our neutral reports. Numbers become Decimal at this boundary (`Decimal(str(x))` for the
floats ccxt parses; the exchange's own strings where a venue module reads `info`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from arbitrage.domain import OrderSide
from arbitrage.exchanges.connector import (
    FundingPaymentReport,
    LeverageTierInfo,
    MarketInfo,
    OrderReport,
    OrderState,
    PositionReport,
)

def dec(value: Any) -> Decimal | None:
    """Decimal of a ccxt number or an exchange string; None for missing/empty/non-numeric."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def to_int(value: Any) -> int | None:
    number = dec(value)
    return int(number) if number is not None else None


def from_ms(value: Any) -> datetime | None:
    ms = to_int(value)
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms is not None else None


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def interval_hours(value: Any) -> int | None:
    """ccxt's funding `interval` such as '8h' → 8."""
    if isinstance(value, str) and value.endswith("h"):
        return to_int(value[:-1])
    return None


def contract_size(market: dict[str, Any]) -> Decimal:
    return dec(market.get("contractSize")) or Decimal(1)


def is_usdt_perpetual(market: dict[str, Any]) -> bool:
    return bool(market.get("swap") and market.get("linear") and market.get("settle") == "USDT")


def market_info(exchange_id: str, market: dict[str, Any], max_leverage: int | None) -> MarketInfo:
    """Rules in BASE units: ccxt amounts of derivatives are contracts, base = contracts × contractSize."""
    size = contract_size(market)
    limits = market.get("limits") or {}
    precision = market.get("precision") or {}
    step = dec(precision.get("amount")) or Decimal(1)
    min_contracts = dec((limits.get("amount") or {}).get("min"))
    return MarketInfo(
        exchange=exchange_id,
        symbol=market["symbol"],
        exchange_symbol=market["id"],
        step_size=step * size,
        min_qty=(min_contracts if min_contracts is not None else step) * size,
        min_notional=dec((limits.get("cost") or {}).get("min")),
        tick_size=dec(precision.get("price")),
        contract_size=size,
        max_leverage=max_leverage,
        active=market.get("active") is not False,
    )


def leverage_tiers(rows: list[dict[str, Any]]) -> list[LeverageTierInfo]:
    """ccxt leverage tier structures → ours (quote notional bounds)."""
    return [
        LeverageTierInfo(
            notional_floor=dec(tier.get("minNotional")) or Decimal(0),
            notional_cap=dec(tier.get("maxNotional")),
            max_leverage=int(tier["maxLeverage"]),
            maint_margin_rate=dec(tier.get("maintenanceMarginRate")),
        )
        for tier in rows
        if tier.get("maxLeverage") is not None
    ]


def ccxt_max_leverage(market: dict[str, Any]) -> int | None:
    return to_int(((market.get("limits") or {}).get("leverage") or {}).get("max"))


def order_report(
    exchange_id: str,
    market: dict[str, Any],
    order: dict[str, Any],
    client_order_id: str,
    requested: Decimal | None,
    side: OrderSide | None,
    fee: tuple[Decimal | None, str | None],
) -> OrderReport:
    """A ccxt order in base units (ccxt amounts are contracts: × contractSize)."""
    size = contract_size(market)
    filled = (dec(order.get("filled")) or Decimal(0)) * size
    amount = dec(order.get("amount"))
    amount = amount * size if amount is not None else requested
    order_id = order.get("id")
    return OrderReport(
        exchange=exchange_id,
        symbol=market["symbol"],
        client_order_id=order.get("clientOrderId") or client_order_id,
        exchange_order_id=str(order_id) if order_id not in (None, "") else None,
        state=order_state(order.get("status"), filled, amount),
        side=side,
        amount=amount,
        filled=filled,
        average_price=dec(order.get("average")) if filled > 0 else None,
        fee=fee[0],
        fee_currency=fee[1],
        raw_status=raw_status(order),
        executed_at=from_ms(order.get("lastTradeTimestamp") or order.get("timestamp")) if filled > 0 else None,
    )


def order_state(status: str | None, filled: Decimal, amount: Decimal | None) -> OrderState:
    if status == "rejected":
        return OrderState.REJECTED
    if status == "closed":
        if filled <= 0:
            return OrderState.CANCELED
        if amount is None or filled >= amount:
            return OrderState.FILLED
        return OrderState.PARTIALLY_FILLED
    if status in ("canceled", "cancelled", "expired"):
        return OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.CANCELED
    return OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN


def raw_status(order: dict[str, Any]) -> str | None:
    info = order.get("info") or {}
    if isinstance(info, dict):
        for key in ("status", "orderStatus", "state"):
            if info.get(key) not in (None, ""):
                return str(info[key])
    return order.get("status")


def ccxt_fee(order: dict[str, Any]) -> tuple[Decimal | None, str | None]:
    """The order's fee (+ paid) from ccxt's `fee` or the sum of `fees` in one currency."""
    fees = [fee for fee in (order.get("fees") or []) if fee and fee.get("cost") is not None]
    if not fees and order.get("fee") and order["fee"].get("cost") is not None:
        fees = [order["fee"]]
    if not fees:
        return None, None
    total = sum((dec(fee["cost"]) or Decimal(0) for fee in fees), Decimal(0))
    return total, fees[0].get("currency")


def position_reports(
    exchange_id: str, symbol: str, rows: list[dict[str, Any]], size: Decimal
) -> list[PositionReport]:
    """Open (non-zero) positions of `symbol` in base units."""
    positions = []
    for row in rows:
        contracts = dec(row.get("contracts"))
        if row.get("symbol") != symbol or not contracts:
            continue
        side = row.get("side")
        if side not in ("long", "short"):
            side = "long" if contracts > 0 else "short"
        positions.append(
            PositionReport(
                exchange=exchange_id,
                symbol=symbol,
                side="LONG" if side == "long" else "SHORT",
                amount=abs(contracts) * size,
                entry_price=dec(row.get("entryPrice")),
                leverage=to_int(row.get("leverage")),
            )
        )
    return positions


def funding_amount(row: dict[str, Any], info_field: str | None) -> Decimal | None:
    """The payment amount as the exchange reports it: its own string field when known, else ccxt's float."""
    info = row.get("info") or {}
    raw = info.get(info_field) if info_field and isinstance(info, dict) else None
    return dec(raw if raw not in (None, "") else row.get("amount"))


def funding_payment(
    exchange_id: str, symbol: str, row: dict[str, Any], timestamp: int, amount: Decimal
) -> FundingPaymentReport:
    """`amount` is already in our convention: + received, - paid."""
    return FundingPaymentReport(
        exchange=exchange_id,
        symbol=symbol,
        amount=amount,
        paid_at=datetime.fromtimestamp(timestamp / 1000, tz=UTC),
        payment_id=str(row.get("id") or f"{symbol}:{timestamp}"),
        currency=row.get("code") or "USDT",
    )
