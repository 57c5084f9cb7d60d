"""BingX signed order endpoints: place, query (by orderId or clientOrderId), open orders, fills."""

from __future__ import annotations

import re
from typing import Any

from arbitrage.simulator.accounts import Order, OrderRequest, OrderType, PositionSide, Side
from arbitrage.simulator.dialects.bingx import formatting as f
from arbitrage.simulator.dialects.bingx.dialect import DIALECT, envelope
from arbitrage.simulator.dialects.common import RequestContext, fmt, parse_decimal, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument

CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9_\-:.]{1,40}$")
SIMULATED_TYPES = ("MARKET", "LIMIT")
KNOWN_TYPES = SIMULATED_TYPES + ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT", "TRIGGER_LIMIT",
                                 "TRIGGER_MARKET", "TRAILING_STOP_MARKET", "TRAILING_TP_SL")
THIRTY_DAYS_MS = 30 * 86_400_000


def _enum(ctx: RequestContext, name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = ctx.param(name, default)
    if value in (None, ""):
        raise SimError(ErrorKind.MISSING_PARAMETER, f"{name} missing", param=name)
    if str(value) not in allowed:  # case-sensitive like the real API
        raise SimError(ErrorKind.INVALID_PARAMETER, f"invalid {name}", param=name)
    return str(value)


def _bool(ctx: RequestContext, name: str) -> bool:
    value = ctx.param(name)
    if value in (None, ""):
        return False
    if str(value) not in ("true", "false"):
        raise SimError(ErrorKind.INVALID_PARAMETER, f"invalid {name}", param=name)
    return str(value) == "true"


@DIALECT.route("POST", "/openApi/swap/v2/trade/order", signed=True)
def create_order(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    instrument = DIALECT.requested_instrument(ctx)
    side = Side(_enum(ctx, "side", ("BUY", "SELL")))
    order_type = _enum(ctx, "type", KNOWN_TYPES)
    if order_type not in SIMULATED_TYPES:
        raise SimError(ErrorKind.ORDER_TYPE_UNSUPPORTED, f"order type {order_type} is not simulated")
    # BingX defaults positionSide to LONG, so an order without it is refused on a one-way account
    position_side = PositionSide(_enum(ctx, "positionSide", ("BOTH", "LONG", "SHORT"), default="LONG"))
    if account.hedge_mode == (position_side is PositionSide.BOTH):
        raise SimError(
            ErrorKind.POSITION_SIDE_MISMATCH, "positionSide does not match the mode", hedge=account.hedge_mode
        )
    quantity = parse_decimal(ctx.require("quantity"), "quantity")
    client_order_id = ctx.param("clientOrderID") or None
    if client_order_id is not None and not CLIENT_ORDER_ID.match(str(client_order_id)):
        raise SimError(ErrorKind.INVALID_CLIENT_ORDER_ID, "client order id is not valid")
    price = ctx.param("price")
    request = OrderRequest(
        symbol=instrument.symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType(order_type),
        # reduceOnly only applies in one-way mode; in hedge mode positionSide + side decide open or close
        reduce_only=_bool(ctx, "reduceOnly") and not account.hedge_mode,
        position_side=position_side,
        client_order_id=client_order_id,
        price=parse_decimal(price, "price") if price not in (None, "") else None,
    )
    try:
        order = ctx.place_order(account, request)
    except SimError as error:
        leverage = error.details.get("leverage")
        extra: dict[str, Any] = {"base": instrument.base}
        if leverage:
            extra["max_notional"] = fmt(instrument.max_notional_for_leverage(int(leverage)))
        raise SimError(error.kind, error.message, **{**extra, **error.details}) from None
    return envelope(ctx, {"order": f.order_ack(instrument, order)})


def _find_order(ctx: RequestContext) -> tuple[Instrument, Order]:
    """Real BingX accepts either ``orderId`` or ``clientOrderId``; a non-numeric ``orderId`` (e.g. the literal
    ``None`` that ccxt sends for ``fetch_order(None, ...)``) is a parameter error."""
    instrument = DIALECT.requested_instrument(ctx)
    order_id = ctx.param("orderId")
    client_id = ctx.param("clientOrderId")
    if order_id in (None, "") and client_id in (None, ""):
        raise SimError(ErrorKind.MISSING_PARAMETER, "orderId or clientOrderId required", param="orderId")
    if order_id not in (None, ""):
        if not str(order_id).isdigit():
            raise SimError(ErrorKind.INVALID_PARAMETER, "orderId must be an integer", param="orderId")
        order = ctx.venue.get_order(ctx.require_account(), instrument.symbol, order_id=str(int(order_id)))
    else:
        order = ctx.venue.get_order(ctx.require_account(), instrument.symbol, client_order_id=str(client_id))
    return instrument, order


@DIALECT.route("GET", "/openApi/swap/v2/trade/order", signed=True)
def get_order(ctx: RequestContext) -> Any:
    instrument, order = _find_order(ctx)
    return envelope(ctx, {"order": f.order_detail(instrument, order)})


@DIALECT.route("GET", "/openApi/swap/v2/trade/openOrders", signed=True)
def open_orders(ctx: RequestContext) -> Any:
    if ctx.param("symbol"):
        DIALECT.requested_instrument(ctx)
    return envelope(ctx, {"orders": []})  # market orders fill at once: nothing is ever open


@DIALECT.route("GET", "/openApi/swap/v2/trade/allFillOrders", signed=True)
def fills(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    now = ctx.now()
    start = parse_int(ctx.param("startTs", now - THIRTY_DAYS_MS), "startTs")
    end = parse_int(ctx.param("endTs", now), "endTs")
    order_id = ctx.param("orderId")
    rows = [
        f.fill_row(instrument, fill)
        for fill in ctx.require_account().fills
        if fill.symbol == instrument.symbol
        and start <= fill.time <= end
        and (order_id in (None, "") or fill.order_id == str(order_id))
    ]
    return envelope(ctx, {"fill_orders": rows})
