"""Binance USDⓈ-M signed endpoints: leverage, modes, orders, positions, income, account."""

from __future__ import annotations

import re
from typing import Any

from arbitrage.simulator.accounts import MarginMode, OrderRequest, OrderType, PositionSide, Side
from arbitrage.simulator.dialects.binanceusdm import formatting as f
from arbitrage.simulator.dialects.binanceusdm.dialect import DIALECT
from arbitrage.simulator.dialects.common import (
    RequestContext,
    compact_id,
    fmt,
    parse_bool,
    parse_decimal,
    parse_int,
)
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument

CLIENT_ORDER_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
SEVEN_DAYS_MS = 7 * 86_400_000
SUCCESS = {"code": 200, "msg": "success"}


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    text = str(value).upper()
    if text not in allowed:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"invalid {name}", param=name)
    return text


# ----------------------------------------------------------------------------- leverage and modes
@DIALECT.route("POST", "/fapi/v1/leverage", signed=True)
def set_leverage(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    leverage = parse_int(ctx.require("leverage"), "leverage")
    change = ctx.venue.set_leverage(ctx.require_account(), instrument.symbol, leverage)
    return {
        "leverage": change.long,
        "maxNotionalValue": fmt(instrument.max_notional_for_leverage(change.long)),
        "symbol": compact_id(instrument),
    }


@DIALECT.route("GET", "/fapi/v1/leverageBracket", signed=True)
def leverage_brackets(ctx: RequestContext) -> Any:
    return [f.brackets(instrument) for instrument in DIALECT.requested_instruments(ctx)]


@DIALECT.route("GET", "/fapi/v1/symbolConfig", signed=True)
def symbol_config(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    return [f.symbol_config(ctx.venue, account, instrument) for instrument in DIALECT.requested_instruments(ctx)]


@DIALECT.route("POST", "/fapi/v1/marginType", signed=True)
def set_margin_type(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    mode = _choice(ctx.require("marginType"), "marginType", ("ISOLATED", "CROSSED"))
    margin_mode = MarginMode.ISOLATED if mode == "ISOLATED" else MarginMode.CROSS
    ctx.venue.set_margin_mode(ctx.require_account(), instrument.symbol, margin_mode)
    return SUCCESS


@DIALECT.route("POST", "/fapi/v1/positionSide/dual", signed=True)
def set_position_mode(ctx: RequestContext) -> Any:
    hedge = parse_bool(ctx.require("dualSidePosition"), "dualSidePosition")
    ctx.venue.set_position_mode(ctx.require_account(), hedge)
    return SUCCESS


@DIALECT.route("GET", "/fapi/v1/positionSide/dual", signed=True)
def get_position_mode(ctx: RequestContext) -> Any:
    return {"dualSidePosition": ctx.require_account().hedge_mode}


# ----------------------------------------------------------------------------- orders
@DIALECT.route("POST", "/fapi/v1/order", signed=True)
def create_order(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    instrument = DIALECT.requested_instrument(ctx)
    side = Side(_choice(ctx.require("side"), "side", ("BUY", "SELL")))
    order_type = _choice(ctx.require("type"), "type", ("MARKET", "LIMIT", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                                                       "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"))
    if order_type not in ("MARKET", "LIMIT"):
        raise SimError(ErrorKind.ORDER_TYPE_UNSUPPORTED, f"order type {order_type} is not simulated")
    quantity = parse_decimal(ctx.require("quantity"), "quantity")
    position_side = PositionSide(_choice(ctx.param("positionSide", "BOTH"), "positionSide", ("BOTH", "LONG", "SHORT")))
    reduce_only_raw = ctx.param("reduceOnly")
    if reduce_only_raw is not None and account.hedge_mode:
        raise SimError(
            ErrorKind.INVALID_PARAMETER,
            "reduceOnly sent in hedge mode",
            param="reduceOnly",
            code=-1106,
            msg="Parameter 'reduceOnly' sent when not required.",
        )
    reduce_only = parse_bool(reduce_only_raw, "reduceOnly") if reduce_only_raw is not None else False
    client_order_id = ctx.param("newClientOrderId") or f"sim_{ctx.venue.next_id('client_order')}"
    if not CLIENT_ORDER_ID.match(str(client_order_id)):
        raise SimError(ErrorKind.INVALID_CLIENT_ORDER_ID, "client order id is not valid")
    request = OrderRequest(
        symbol=instrument.symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType(order_type),
        reduce_only=reduce_only,
        position_side=position_side,
        client_order_id=str(client_order_id),
        price=parse_decimal(ctx.param("price"), "price") if ctx.param("price") is not None else None,
    )
    order = ctx.place_order(account, request)
    return f.order_body(instrument, order, with_time=False)


def _find_order(ctx: RequestContext, *, cancel: bool = False) -> tuple[Instrument, Any]:
    instrument = DIALECT.requested_instrument(ctx)
    order_id = ctx.param("orderId")
    client_id = ctx.param("origClientOrderId")
    if not order_id and not client_id:
        raise SimError(
            ErrorKind.MISSING_PARAMETER,
            "orderId or origClientOrderId required",
            param="orderId",
            msg="Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    try:
        order = ctx.venue.get_order(
            ctx.require_account(), instrument.symbol, order_id=order_id or None, client_order_id=client_id or None
        )
    except SimError as error:
        if cancel:
            raise SimError(error.kind, error.message, cancel=True) from None
        raise
    return instrument, order


@DIALECT.route("GET", "/fapi/v1/order", signed=True)
def get_order(ctx: RequestContext) -> Any:
    instrument, order = _find_order(ctx)
    return f.order_body(instrument, order, with_time=True)


@DIALECT.route("DELETE", "/fapi/v1/order", signed=True)
def cancel_order(ctx: RequestContext) -> Any:
    _find_order(ctx, cancel=True)
    # every simulated order fills at once, so there is never anything left to cancel
    raise SimError(ErrorKind.ORDER_NOT_FOUND, "order already filled", cancel=True)


@DIALECT.route("GET", "/fapi/v1/openOrders", signed=True)
def open_orders(ctx: RequestContext) -> Any:
    DIALECT.requested_instruments(ctx)
    return []


@DIALECT.route("GET", "/fapi/v1/allOrders", signed=True)
def all_orders(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    orders = [order for order in ctx.require_account().orders
              if order.symbol == instrument.symbol and order.indexed(ctx.now())]
    limit = min(parse_int(ctx.param("limit", 500), "limit"), 1000)
    return [f.order_body(instrument, order, with_time=True) for order in orders[-limit:]]


# ----------------------------------------------------------------------------- positions, account, history
@DIALECT.route("GET", "/fapi/v3/positionRisk", signed=True)
def position_risk(ctx: RequestContext) -> Any:
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    rows = []
    for view in ctx.venue.position_views(ctx.require_account(), wanted):
        rows.append(f.position_row(ctx.venue.instrument(view.position.symbol), view))
    return rows


@DIALECT.route("GET", "/fapi/v3/account", signed=True)
@DIALECT.route("GET", "/fapi/v2/account", signed=True)
def account_info(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    return f.account_body(ctx.venue, account, ctx.venue.balance(account))


@DIALECT.route("GET", "/fapi/v3/balance", signed=True)
@DIALECT.route("GET", "/fapi/v2/balance", signed=True)
def balance(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    totals = f.balance_fields(ctx.venue.balance(account))
    return [
        {
            "accountAlias": "SgsR",
            "asset": "USDT",
            "balance": totals["totalWalletBalance"],
            "crossWalletBalance": totals["totalCrossWalletBalance"],
            "crossUnPnl": totals["totalCrossUnPnl"],
            "availableBalance": totals["availableBalance"],
            "maxWithdrawAmount": totals["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": account.update_time or account.create_time,
        }
    ]


@DIALECT.route("GET", "/fapi/v1/income", signed=True)
def income(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    income_type = ctx.param("incomeType")
    start = parse_int(ctx.param("startTime"), "startTime") if ctx.param("startTime") else None
    end = parse_int(ctx.param("endTime"), "endTime") if ctx.param("endTime") else None
    if start is None and end is None:
        start = ctx.now() - SEVEN_DAYS_MS
    limit = min(parse_int(ctx.param("limit", 100), "limit"), 1000)
    rows = []
    for payment in account.funding_history:
        rows.append((payment.symbol, "FUNDING_FEE", payment.amount, payment.funding_time, payment.id, ""))
    for fill in account.fills:
        rows.append((fill.symbol, "COMMISSION", -fill.fee, fill.time, "1" + fill.id, fill.id))
        if fill.realized_pnl:
            rows.append((fill.symbol, "REALIZED_PNL", fill.realized_pnl, fill.time, "2" + fill.id, fill.id))
    selected = [
        row
        for row in rows
        if (wanted is None or row[0] == wanted)
        and (income_type is None or row[1] == income_type)
        and (start is None or row[3] >= start)
        and (end is None or row[3] <= end)
    ]
    selected.sort(key=lambda row: row[3])
    return [
        {
            "symbol": compact_id(ctx.venue.instrument(row_symbol)),
            "incomeType": kind,
            "income": fmt(amount, 8),
            "asset": "USDT",
            "info": kind if kind == "FUNDING_FEE" else "",
            "time": when,
            "tranId": int(tran_id),
            "tradeId": trade_id,
        }
        for row_symbol, kind, amount, when, tran_id, trade_id in selected[:limit]
    ]


@DIALECT.route("GET", "/fapi/v1/userTrades", signed=True)
def user_trades(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    start = parse_int(ctx.param("startTime"), "startTime") if ctx.param("startTime") else None
    end = parse_int(ctx.param("endTime"), "endTime") if ctx.param("endTime") else None
    from_id = parse_int(ctx.param("fromId"), "fromId") if ctx.param("fromId") else None
    order_id = ctx.param("orderId")  # Binance: the trades of that one order
    limit = min(parse_int(ctx.param("limit", 500), "limit"), 1000)
    fills = [
        fill
        for fill in ctx.require_account().fills
        if fill.symbol == instrument.symbol
        and (order_id is None or fill.order_id == str(order_id))
        and (start is None or fill.time >= start)
        and (end is None or fill.time <= end)
        and (from_id is None or int(fill.id) >= from_id)
    ]
    fills = fills[:limit] if (start is not None or from_id is not None) else fills[-limit:]
    return [f.trade_row(instrument, fill) for fill in fills]
