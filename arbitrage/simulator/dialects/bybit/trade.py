"""Bybit v5 trading endpoints: order create / realtime / history / cancel and the execution list (trades and
funding settlements)."""

from __future__ import annotations

import re
from typing import Any

from arbitrage.simulator.accounts import Order, OrderRequest, OrderType, PositionSide, Side
from arbitrage.simulator.dialects.bybit import executions
from arbitrage.simulator.dialects.bybit import formatting as f
from arbitrage.simulator.dialects.bybit.account import string_field
from arbitrage.simulator.dialects.bybit.dialect import DIALECT
from arbitrage.simulator.dialects.bybit.market import category, ok
from arbitrage.simulator.dialects.common import RequestContext, parse_bool, parse_decimal, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError

ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
POSITION_SIDES = {0: PositionSide.BOTH, 1: PositionSide.LONG, 2: PositionSide.SHORT}
SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000
RECENT_ORDERS = 500  # order/realtime reaches the last 500 orders of any status


def _choice(ctx: RequestContext, name: str, allowed: tuple[str, ...]) -> str:
    value = ctx.require(name)
    if value not in allowed:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"{name} must be one of {allowed}", param=name)
    return str(value)


@DIALECT.route("POST", "/v5/order/create", signed=True)
def create_order(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    category(ctx, ("linear",))
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    side = Side.BUY if _choice(ctx, "side", ("Buy", "Sell")) == "Buy" else Side.SELL
    order_type = _choice(ctx, "orderType", ("Market", "Limit"))
    quantity = parse_decimal(string_field(ctx, "qty"), "qty")
    index_raw = ctx.param("positionIdx", 0)
    if isinstance(index_raw, bool) or parse_int(index_raw, "positionIdx") not in POSITION_SIDES:
        raise SimError(ErrorKind.INVALID_PARAMETER, "positionIdx must be 0, 1 or 2", param="positionIdx")
    link_id = ctx.param("orderLinkId")
    if link_id is not None and (not isinstance(link_id, str) or not ORDER_LINK_ID.match(link_id)):
        raise SimError(ErrorKind.INVALID_CLIENT_ORDER_ID, "orderLinkId is not valid")
    reduce_only = parse_bool(ctx.param("reduceOnly", False), "reduceOnly")
    limit_price = parse_decimal(string_field(ctx, "price"), "price") if order_type == "Limit" else None
    request = OrderRequest(
        symbol=instrument.symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET if order_type == "Market" else OrderType.LIMIT,
        reduce_only=reduce_only,
        position_side=POSITION_SIDES[parse_int(index_raw, "positionIdx")],
        client_order_id=link_id or None,
        price=limit_price,
    )
    order = ctx.place_order(account, request)
    return ok(ctx, {"orderId": order.id, "orderLinkId": order.client_order_id or ""})


def _orders(ctx: RequestContext, *, history: bool) -> Any:
    account = ctx.require_account()
    kind = category(ctx, ("linear", "inverse", "spot", "option"))
    symbol, settle, base = ctx.param("symbol"), ctx.param("settleCoin"), ctx.param("baseCoin")
    if kind == "linear" and not history and not (symbol or settle or base):
        raise SimError(
            ErrorKind.MISSING_PARAMETER,
            "linear needs symbol, baseCoin or settleCoin",
            param="symbol",
            msg="Missing some parameters that must be filled in, symbol or settleCoin or baseCoin",
        )
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    order_id, link_id = ctx.param("orderId"), ctx.param("orderLinkId")
    orders: list[Order] = [] if kind != "linear" else account.orders[-RECENT_ORDERS:]
    if settle or base:
        orders = [
            order
            for order in orders
            if (not settle or ctx.venue.instrument(order.symbol).settle == settle)
            and (not base or ctx.venue.instrument(order.symbol).base == base)
        ]
    by_identity = bool(order_id or link_id)
    if not history and not by_identity and str(ctx.param("openOnly", "0")) == "0":
        orders = []  # open orders only, and a simulated order fills at once
    selected = [
        order
        for order in reversed(orders)  # newest first
        if order.indexed(ctx.now())
        and (wanted is None or order.symbol == wanted)
        and (not order_id or order.id == order_id)
        and (not link_id or order.client_order_id == link_id)
    ]
    page, cursor = f.paginate(ctx, selected, default_limit=20, max_limit=50)
    rows = [f.order_row(ctx.venue.instrument(order.symbol), order) for order in page]
    return ok(ctx, {"list": rows, "nextPageCursor": cursor, "category": kind})


@DIALECT.route("GET", "/v5/order/realtime", signed=True)
def realtime_orders(ctx: RequestContext) -> Any:
    """Lookup by ``orderId`` and/or ``orderLinkId`` (any status); an unknown id is an empty list, not an error."""
    return _orders(ctx, history=False)


@DIALECT.route("GET", "/v5/order/history", signed=True)
def order_history(ctx: RequestContext) -> Any:
    return _orders(ctx, history=True)


@DIALECT.route("POST", "/v5/order/cancel", signed=True)
def cancel_order(ctx: RequestContext) -> Any:
    ctx.require_account()
    category(ctx, ("linear",))
    DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    if not ctx.param("orderId") and not ctx.param("orderLinkId"):
        raise SimError(ErrorKind.MISSING_PARAMETER, "orderId or orderLinkId", param="orderId or orderLinkId")
    # every simulated order is filled at once: there is never anything left to cancel
    raise SimError(ErrorKind.ORDER_NOT_FOUND, "order already filled")


@DIALECT.route("GET", "/v5/execution/list", signed=True)
def execution_list(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    kind = category(ctx, ("linear", "inverse", "spot", "option"))
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    start, end = _time_range(ctx)
    exec_type = ctx.param("execType")
    rows: list[tuple[int, dict[str, Any]]] = []
    if kind == "linear":
        if exec_type in (None, "", "Trade"):
            for fill in account.fills:
                order = account.orders_by_id.get(fill.order_id)
                rows.append((fill.time, executions.trade_execution(ctx.venue.instrument(fill.symbol), fill, order)))
        if exec_type in (None, "", "Funding"):
            for payment in account.funding_history:
                instrument = ctx.venue.instrument(payment.symbol)
                rows.append((payment.funding_time, executions.funding_execution(instrument, payment)))
    selected = [
        row
        for when, row in sorted(rows, key=lambda item: item[0], reverse=True)  # newest first
        if start <= when <= end and (wanted is None or row["symbol"] == symbol)
    ]
    page, cursor = f.paginate(ctx, selected, default_limit=50, max_limit=100)
    return ok(ctx, {"nextPageCursor": cursor, "category": kind, "list": page})


def _time_range(ctx: RequestContext) -> tuple[int, int]:
    """Bybit: no times → last 7 days; one side given → 7 days from/until it; a wider range is rejected."""
    start = parse_int(ctx.param("startTime"), "startTime") if ctx.param("startTime") else None
    end = parse_int(ctx.param("endTime"), "endTime") if ctx.param("endTime") else None
    if start is None and end is None:
        end = ctx.now()
    if start is None:
        start = end - SEVEN_DAYS_MS  # type: ignore[operator]
    if end is None:
        end = start + SEVEN_DAYS_MS
    if end < start or end - start > SEVEN_DAYS_MS:
        raise SimError(
            ErrorKind.INVALID_PARAMETER, "time range", msg="params error: The time range cannot exceed 7 days"
        )
    return start, end
