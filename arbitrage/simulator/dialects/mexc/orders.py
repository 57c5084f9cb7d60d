"""MEXC contract orders: create (vol in contracts, side 1..4, type 5/6 market), lookup by id and by externalOid,
open orders, and the account's deals (fills)."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.accounts import Account, Order, OrderRequest, OrderType, PositionSide, Side
from arbitrage.simulator.dialects.common import RequestContext, parse_bool, parse_decimal, parse_int
from arbitrage.simulator.dialects.mexc import formatting as f
from arbitrage.simulator.dialects.mexc.dialect import DIALECT, contract_ok
from arbitrage.simulator.dialects.mexc.private import (
    MODE_OF_OPEN_TYPE,
    apply_margin_mode,
    choice,
    set_side_leverage,
)
from arbitrage.simulator.dialects.mexc.public import page_params
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument

MARKET_TYPES = (5, 6)  # 5 market, 6 convert market price to current price
ORDER_TYPES = (1, 2, 3, 4, 5, 6)  # 1 limit, 2 post only, 3 IOC, 4 FOK
MAX_EXTERNAL_OID = 32
NINETY_DAYS_MS = 90 * 24 * 3600 * 1000
SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000

# side code → (engine side, position side in hedge mode, closes)
SIDES: dict[int, tuple[Side, PositionSide, bool]] = {
    f.OPEN_LONG: (Side.BUY, PositionSide.LONG, False),
    f.CLOSE_SHORT: (Side.BUY, PositionSide.SHORT, True),
    f.OPEN_SHORT: (Side.SELL, PositionSide.SHORT, False),
    f.CLOSE_LONG: (Side.SELL, PositionSide.LONG, True),
}


def _check_one_way_close(account: Account, instrument: Instrument, side: Side, vol: Any) -> None:
    """Close long (4) needs a long, close short (2) a short; MEXC answers 2009 otherwise."""
    position = account.position(instrument.symbol, PositionSide.BOTH)
    wanted_long = side is Side.SELL
    if position is None or position.is_long != wanted_long:
        raise SimError(ErrorKind.NO_POSITION, f"no {'long' if wanted_long else 'short'} position to close")
    if vol > abs(position.size):
        raise SimError(ErrorKind.REDUCE_ONLY_REJECTED, f"close vol {vol} exceeds the position {abs(position.size)}")


def _leverage_param(ctx: RequestContext, account: Account, instrument: Instrument, side: PositionSide) -> None:
    """An explicit ``leverage`` on an opening order sets that side's leverage unless a position already uses
    another one (MEXC 2021)."""
    raw = ctx.param("leverage")
    if raw in (None, ""):
        return
    leverage = parse_int(raw, "leverage")
    current = ctx.venue.leverage(account, instrument.symbol)[side]
    held = [
        position
        for position in account.open_positions(instrument.symbol)
        if position.position_side is side or (position.position_side is PositionSide.BOTH
                                              and position.is_long == (side is PositionSide.LONG))
    ]
    if held and leverage != current:
        raise SimError(
            ErrorKind.INVALID_PARAMETER,
            "order leverage differs from the position's",
            param="leverage",
            code=2021,
            msg="Leverage ratio is inconsistent with the existing position leverage ratio!",
        )
    if leverage != current:
        set_side_leverage(ctx.venue, account, instrument.symbol, leverage, side)


@DIALECT.route("POST", "/api/v1/private/order/create", signed=True)
def create_order(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    vol = parse_decimal(ctx.require("vol"), "vol")
    side_code = parse_int(ctx.require("side"), "side")
    if side_code not in SIDES:
        raise SimError(ErrorKind.INVALID_PARAMETER, "side must be 1..4", param="side", code=2001,
                       msg="Wrong order direction")
    order_type = parse_int(ctx.require("type"), "type")
    if order_type not in ORDER_TYPES:
        raise SimError(ErrorKind.ORDER_TYPE_UNSUPPORTED, f"order type {order_type} does not exist")
    open_type = choice(ctx, "openType", (f.ISOLATED, f.CROSS))
    mode = choice(ctx, "positionMode", (f.HEDGE_MODE, f.ONE_WAY_MODE), required=False)
    if mode is not None and (mode == f.HEDGE_MODE) != account.hedge_mode:
        raise SimError(ErrorKind.POSITION_SIDE_MISMATCH, f"positionMode {mode} differs from the account's mode")
    if open_type == f.ISOLATED and ctx.param("leverage") in (None, ""):
        raise SimError(ErrorKind.MISSING_PARAMETER, "leverage is required for isolated orders", param="leverage")
    external_oid = ctx.param("externalOid")
    if external_oid is not None and (not str(external_oid) or len(str(external_oid)) > MAX_EXTERNAL_OID):
        raise SimError(ErrorKind.INVALID_CLIENT_ORDER_ID, "externalOid must be 1..32 characters")
    if order_type not in MARKET_TYPES:
        raise SimError(ErrorKind.ORDER_TYPE_UNSUPPORTED, "the simulator fills market orders (type 5/6) only")

    side, hedge_side, closes = SIDES[side_code]
    reduce_only_raw = ctx.param("reduceOnly")
    if reduce_only_raw is not None and account.hedge_mode:
        raise SimError(ErrorKind.INVALID_PARAMETER, "reduceOnly is one-way only", param="reduceOnly")
    if reduce_only_raw is not None and parse_bool(reduce_only_raw, "reduceOnly"):
        closes = True
    position_side = hedge_side if account.hedge_mode else PositionSide.BOTH
    if closes and not account.hedge_mode:
        _check_one_way_close(account, instrument, side, vol)
    if not closes:  # openType/leverage of a close order are ignored: the position keeps its own
        margin_mode = MODE_OF_OPEN_TYPE[open_type or f.CROSS]
        if margin_mode is not account.margin_mode(instrument.symbol) and account.open_positions(instrument.symbol):
            raise SimError(ErrorKind.MARGIN_MODE_POSITION_OPEN, "the symbol's position uses the other margin mode")
        _leverage_param(ctx, account, instrument, hedge_side)
        apply_margin_mode(ctx.venue, account, instrument, margin_mode)

    before = account.positions.get((instrument.symbol, position_side))
    order = ctx.place_order(
        account,
        OrderRequest(
            symbol=instrument.symbol,
            side=side,
            quantity=vol,
            order_type=OrderType.MARKET,
            reduce_only=closes and not account.hedge_mode,
            position_side=position_side,
            client_order_id=str(external_oid) if external_oid is not None else None,
        ),
    )
    after = account.positions.get((instrument.symbol, position_side)) or before
    f.attach_meta(
        order,
        f.OrderMeta(
            order_type=order_type,
            open_type=f.open_type(account.margin_mode(instrument.symbol)),
            position_id=int(after.id) if after is not None else 0,
        ),
    )
    return contract_ok({"orderId": order.id, "ts": order.create_time})


def _order_response(ctx: RequestContext, order: Order) -> Any:
    return contract_ok(f.order_body(ctx.venue.instrument(order.symbol), order))


@DIALECT.route("GET", "/api/v1/private/order/get/{order_id}", signed=True)
def get_order(ctx: RequestContext) -> Any:
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    order = ctx.venue.get_order(ctx.require_account(), wanted, order_id=ctx.path_params["order_id"])
    return _order_response(ctx, order)


@DIALECT.route("GET", "/api/v1/private/order/external/{symbol}/{external_oid}", signed=True)
def get_order_by_external_oid(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.path_params["symbol"])
    external_oid = ctx.path_params["external_oid"]
    account = ctx.require_account()
    if external_oid.startswith("_m_") and external_oid[3:] in account.orders_by_id:  # MEXC's generated externalOid
        order = ctx.venue.get_order(account, instrument.symbol, order_id=external_oid[3:])
    else:
        order = ctx.venue.get_order(account, instrument.symbol, client_order_id=external_oid)
    return _order_response(ctx, order)


@DIALECT.route("GET", "/api/v1/private/order/list/open_orders/{symbol}", signed=True)
@DIALECT.route("GET", "/api/v1/private/order/list/open_orders", signed=True)
def open_orders(ctx: RequestContext) -> Any:
    symbol = ctx.path_params.get("symbol")
    if symbol:
        DIALECT.instrument_for_id(ctx.venue, symbol)
    return contract_ok([])  # market orders fill at once


@DIALECT.route("GET", "/api/v1/private/order/list/order_deals", signed=True)
def order_deals(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    now = ctx.now()
    start = parse_int(ctx.param("start_time"), "start_time") if ctx.param("start_time") else None
    end = parse_int(ctx.param("end_time"), "end_time") if ctx.param("end_time") else None
    if end is None:
        end = now if start is None else start + SEVEN_DAYS_MS
    if start is None:
        start = end - SEVEN_DAYS_MS
    if end < start or end - start > NINETY_DAYS_MS:
        raise SimError(ErrorKind.INVALID_PARAMETER, "the time span is at most 90 days", param="end_time")
    page_num, page_size = page_params(ctx, 20, 100)
    fills = [
        fill for fill in account.fills if fill.symbol == instrument.symbol and start <= fill.time <= end
    ]
    fills.sort(key=lambda fill: (fill.time, int(fill.id)), reverse=True)
    rows = []
    for fill in fills[(page_num - 1) * page_size : page_num * page_size]:
        order = account.orders_by_id[fill.order_id]
        rows.append(
            {
                "id": fill.id,
                "symbol": DIALECT.symbol_id(instrument),
                "side": f.side_code(fill.side, fill.position_side, order.reduce_only),
                "vol": f.num(fill.quantity),
                "price": f.num(fill.price),
                "feeCurrency": instrument.settle,
                "fee": f.n(fill.fee),
                "timestamp": fill.time,
                "profit": f.n(fill.realized_pnl),
                "isTaker": not fill.maker,
                "category": 1,
                "orderId": fill.order_id,
                "opponent": False,
                "positionMode": f.ONE_WAY_MODE if fill.position_side is PositionSide.BOTH else f.HEDGE_MODE,
                "positionId": f.meta_of(order).position_id,
            }
        )
    return contract_ok(rows)
