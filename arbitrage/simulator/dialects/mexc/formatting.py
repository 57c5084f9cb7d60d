"""MEXC contract response bodies (the shapes ccxt 4.5.90 reads; JSON numbers like the real API)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Account, MarginMode, Order, OrderStatus, PositionSide, Side
from arbitrage.simulator.dialects.common import decimals_of, fmt, num, underscore_id
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.venue import BalanceView, PositionView

ZERO = Decimal(0)
QUANTUM = Decimal("1e-8")

# MEXC order sides: 1 open long, 2 close short, 3 open short, 4 close long.
OPEN_LONG, CLOSE_SHORT, OPEN_SHORT, CLOSE_LONG = 1, 2, 3, 4
LONG_TYPE, SHORT_TYPE = 1, 2  # positionType
ISOLATED, CROSS = 1, 2  # openType
HEDGE_MODE, ONE_WAY_MODE = 1, 2  # positionMode


@dataclass(frozen=True)
class OrderMeta:
    """What MEXC reports about an order that the neutral engine order does not keep."""

    order_type: int
    open_type: int
    position_id: int


META_ATTRIBUTE = "mexc_meta"


def attach_meta(order: Order, meta: OrderMeta) -> None:
    setattr(order, META_ATTRIBUTE, meta)  # lives and dies with the engine's order object


def meta_of(order: Order) -> OrderMeta:
    return getattr(order, META_ATTRIBUTE, None) or OrderMeta(order_type=5, open_type=CROSS, position_id=0)


def n(value: Decimal | int) -> int | float:
    """A JSON number rounded to 8 places."""
    return num(Decimal(value).quantize(QUANTUM) if isinstance(value, Decimal) else value)


def open_type(mode: MarginMode) -> int:
    return ISOLATED if mode is MarginMode.ISOLATED else CROSS


def position_type(position_side: PositionSide, size: Decimal) -> int:
    if position_side is PositionSide.LONG:
        return LONG_TYPE
    if position_side is PositionSide.SHORT:
        return SHORT_TYPE
    return LONG_TYPE if size > 0 else SHORT_TYPE


def side_code(side: Side, position_side: PositionSide, reduce_only: bool) -> int:
    if position_side is PositionSide.LONG:
        return OPEN_LONG if side is Side.BUY else CLOSE_LONG
    if position_side is PositionSide.SHORT:
        return OPEN_SHORT if side is Side.SELL else CLOSE_SHORT
    if side is Side.BUY:
        return CLOSE_SHORT if reduce_only else OPEN_LONG
    return CLOSE_LONG if reduce_only else OPEN_SHORT


# --------------------------------------------------------------------------- private bodies
def order_body(instrument: Instrument, order: Order) -> dict[str, Any]:
    meta = meta_of(order)
    price_places = decimals_of(instrument.tick_size)
    return {
        "orderId": order.id,
        "symbol": underscore_id(instrument),
        "positionId": meta.position_id,
        "price": num(order.avg_price),
        "priceStr": fmt(order.avg_price, price_places),
        "vol": num(order.quantity),
        "leverage": order.leverage,
        "side": side_code(order.side, order.position_side, order.reduce_only),
        "category": 1,
        "orderType": meta.order_type,
        "dealAvgPrice": num(order.avg_price),
        "dealAvgPriceStr": fmt(order.avg_price, price_places),
        "dealVol": num(order.executed_qty),
        "orderMargin": 0,
        "takerFee": n(order.fee),
        "makerFee": 0,
        "profit": n(order.realized_pnl),
        "feeCurrency": instrument.settle,
        "openType": meta.open_type,
        # 1 uninformed, 2 uncompleted, 3 completed, 4 cancelled (an unfilled market remainder; dealVol < vol)
        "state": 3 if order.status is OrderStatus.FILLED else 4,
        "externalOid": order.client_order_id or f"_m_{order.id}",
        "errorCode": 0,
        "usedMargin": 0,
        "createTime": order.create_time,
        "updateTime": order.update_time,
        "positionMode": ONE_WAY_MODE if order.position_side is PositionSide.BOTH else HEDGE_MODE,
        "version": 2,
    }


def position_row(instrument: Instrument, view: PositionView, account: Account) -> dict[str, Any]:
    position = view.position
    entry = position.entry_price
    hold_fee = sum(
        (payment.amount for payment in account.funding_history if payment.position_id == position.id), ZERO
    )
    margin = view.initial_margin
    return {
        "positionId": int(position.id),
        "symbol": underscore_id(instrument),
        "positionType": position_type(position.position_side, position.size),
        "openType": open_type(view.margin_mode),
        "state": 1,
        "holdVol": num(abs(position.size)),
        "frozenVol": 0,
        "closeVol": 0,
        "holdAvgPrice": n(entry),
        "holdAvgPriceFullyScale": fmt(entry),
        "openAvgPrice": n(entry),
        "openAvgPriceFullyScale": fmt(entry),
        "closeAvgPrice": 0,
        "liquidatePrice": n(view.liquidation_price),
        "oim": n(margin),
        "im": n(margin),
        "holdFee": n(hold_fee),
        "realised": n(position.realized_pnl),
        "leverage": view.leverage,
        "marginRatio": n(view.maint_margin / (margin + view.unrealized_pnl)) if margin + view.unrealized_pnl > 0 else 0,
        "createTime": position.open_time,
        "updateTime": position.update_time,
        "autoAddIm": False,
        "version": 1,
        "profitRatio": n(view.unrealized_pnl / margin) if margin > 0 else 0,
        "newOpenAvgPrice": n(entry),
        "newCloseAvgPrice": 0,
        "closeProfitLoss": 0,
        "fee": 0,
        "deductFeeList": [],
        "totalFee": 0,
        "zeroSaveTotalFeeBinance": 0,
        "zeroTradeTotalFeeBinance": 0,
    }


def asset_row(balance: BalanceView, currency: str = "USDT") -> dict[str, Any]:
    return {
        "currency": currency,
        "positionMargin": n(balance.position_initial_margin),
        "availableBalance": n(balance.available),
        "cashBalance": n(balance.wallet_balance),
        "frozenBalance": 0,
        "equity": n(balance.margin_balance),
        "unrealized": n(balance.unrealized_pnl),
        "bonus": 0,
        "availableCash": n(balance.available),
        "availableOpen": n(balance.available),
    }


def page(rows: list[Any], page_num: int, page_size: int) -> dict[str, Any]:
    total = len(rows)
    start = (page_num - 1) * page_size
    return {
        "pageSize": page_size,
        "totalCount": total,
        "totalPage": max(1, -(-total // page_size)),
        "currentPage": page_num,
        "resultList": rows[start : start + page_size],
    }
