"""MEXC private contract endpoints: leverage, position mode, positions, assets, funding records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Account, MarginMode, Position, PositionSide
from arbitrage.simulator.dialects.common import RequestContext, parse_int
from arbitrage.simulator.dialects.mexc import formatting as f
from arbitrage.simulator.dialects.mexc import market as m
from arbitrage.simulator.dialects.mexc.dialect import DIALECT, contract_ok
from arbitrage.simulator.dialects.mexc.public import page_params
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.venue import Venue

SIDE_OF_TYPE = {f.LONG_TYPE: PositionSide.LONG, f.SHORT_TYPE: PositionSide.SHORT}
MODE_OF_OPEN_TYPE = {f.ISOLATED: MarginMode.ISOLATED, f.CROSS: MarginMode.CROSS}


def choice(ctx: RequestContext, name: str, allowed: tuple[int, ...], *, required: bool = True) -> int | None:
    value = ctx.require(name) if required else ctx.param(name)
    if value is None or value == "":
        return None
    number = parse_int(value, name)
    if number not in allowed:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"{name} must be one of {allowed}", param=name)
    return number


def position_by_id(account: Account, position_id: Any) -> Position:
    for position in account.open_positions():
        if position.id == str(position_id):
            return position
    raise SimError(ErrorKind.NO_POSITION, f"position {position_id} does not exist")


def side_of(position: Position) -> PositionSide:
    if position.position_side is not PositionSide.BOTH:
        return position.position_side
    return PositionSide.LONG if position.size > 0 else PositionSide.SHORT


def set_side_leverage(venue: Venue, account: Account, symbol: str, leverage: int, side: PositionSide) -> None:
    """MEXC keeps long and short leverage apart in both position modes; the engine sets both in one-way mode,
    so the other side's value is put back after the engine validated and applied the change."""
    sides = venue.leverage(account, symbol)
    other = PositionSide.SHORT if side is PositionSide.LONG else PositionSide.LONG
    kept = sides[other]
    venue.set_leverage(account, symbol, leverage, side)
    sides[other] = kept


def apply_margin_mode(venue: Venue, account: Account, instrument: Instrument, mode: MarginMode) -> None:
    """openType selects the symbol's margin mode; it cannot change while a position of the symbol is open."""
    if account.margin_mode(instrument.symbol) is mode:
        return
    if account.open_positions(instrument.symbol):
        raise SimError(ErrorKind.MARGIN_MODE_POSITION_OPEN, "close the position before changing the margin mode")
    venue.set_margin_mode(account, instrument.symbol, mode, force=True)


# ----------------------------------------------------------------------------- leverage
@DIALECT.route("POST", "/api/v1/private/position/change_leverage", signed=True)
def change_leverage(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    leverage = parse_int(ctx.require("leverage"), "leverage")
    if ctx.param("positionId") not in (None, ""):
        position = position_by_id(account, ctx.param("positionId"))
        instrument = ctx.venue.instrument(position.symbol)
        side = side_of(position)
        mode = account.margin_mode(instrument.symbol)
    else:
        instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
        mode = MODE_OF_OPEN_TYPE[choice(ctx, "openType", (f.ISOLATED, f.CROSS)) or f.CROSS]
        side = SIDE_OF_TYPE[choice(ctx, "positionType", (f.LONG_TYPE, f.SHORT_TYPE)) or f.LONG_TYPE]
    if mode is not account.margin_mode(instrument.symbol) and account.open_positions(instrument.symbol):
        raise SimError(ErrorKind.MARGIN_MODE_POSITION_OPEN, "close the position before changing the margin mode")
    set_side_leverage(ctx.venue, account, instrument.symbol, leverage, side)
    apply_margin_mode(ctx.venue, account, instrument, mode)
    return contract_ok(with_data=False)


@DIALECT.route("GET", "/api/v1/private/position/leverage", signed=True)
def get_leverage(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    leverage = ctx.venue.leverage(account, instrument.symbol)
    risk = m.risk_fields(instrument)
    rows = []
    for position_type, side in SIDE_OF_TYPE.items():
        vol = _held_vol(account, instrument.symbol, side)
        level = risk.level(vol)
        imr, mmr = risk.rates(level)
        rows.append(
            {
                "level": level,
                "maxVol": f.num(risk.incr_vol * level) if risk.incr_vol > 0 else f.num(instrument.max_qty),
                "mmr": f.num(mmr),
                "imr": f.num(imr),
                "positionType": position_type,
                "openType": f.open_type(account.margin_mode(instrument.symbol)),
                "leverage": leverage[side],
                "limitBySys": False,
                "currentMmr": f.num(mmr),
            }
        )
    return contract_ok(rows)


def _held_vol(account: Account, symbol: str, side: PositionSide) -> Decimal:
    for position in account.open_positions(symbol):
        if side_of(position) is side:
            return abs(position.size)
    return Decimal(0)


# ----------------------------------------------------------------------------- position mode
@DIALECT.route("POST", "/api/v1/private/position/change_position_mode", signed=True)
def change_position_mode(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    mode = choice(ctx, "positionMode", (f.HEDGE_MODE, f.ONE_WAY_MODE))
    hedge = mode == f.HEDGE_MODE
    if account.hedge_mode != hedge:  # asking for the current mode is accepted as is
        ctx.venue.set_position_mode(account, hedge)
    return contract_ok(with_data=False)


@DIALECT.route("GET", "/api/v1/private/position/position_mode", signed=True)
def get_position_mode(ctx: RequestContext) -> Any:
    return contract_ok(f.HEDGE_MODE if ctx.require_account().hedge_mode else f.ONE_WAY_MODE)


# ----------------------------------------------------------------------------- positions and assets
@DIALECT.route("GET", "/api/v1/private/position/open_positions", signed=True)
def open_positions(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    rows = [
        f.position_row(ctx.venue.instrument(view.position.symbol), view, account)
        for view in ctx.venue.position_views(account, wanted)
    ]
    return contract_ok(rows)


@DIALECT.route("GET", "/api/v1/private/account/assets", signed=True)
def assets(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    return contract_ok([f.asset_row(ctx.venue.balance(account))])


@DIALECT.route("GET", "/api/v1/private/account/asset/{currency}", signed=True)
def asset(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    if ctx.path_params["currency"].upper() != "USDT":
        raise SimError(ErrorKind.INVALID_PARAMETER, "only USDT is held", param="currency", code=4001,
                       msg="Unsupported currency")
    return contract_ok(f.asset_row(ctx.venue.balance(account)))


@DIALECT.route("GET", "/api/v1/private/position/funding_records", signed=True)
def funding_records(ctx: RequestContext) -> Any:
    """Newest first. ``funding`` is signed like the engine: + received, − paid."""
    account = ctx.require_account()
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    position_id = ctx.param("position_id")
    page_num, page_size = page_params(ctx, 20, 100)
    payments = [
        payment
        for payment in account.funding_history
        if (wanted is None or payment.symbol == wanted)
        and (position_id in (None, "") or payment.position_id == str(position_id))
    ]
    payments.sort(key=lambda payment: (payment.funding_time, int(payment.id)), reverse=True)
    rows = [
        {
            "id": int(payment.id),
            "symbol": DIALECT.symbol_id(ctx.venue.instrument(payment.symbol)),
            "positionType": f.position_type(payment.position_side, payment.size),
            "positionValue": f.n(payment.position_value),
            "funding": f.n(payment.amount),
            "rate": f.num(payment.rate),
            "settleTime": payment.funding_time,
        }
        for payment in payments
    ]
    return contract_ok(f.page(rows, page_num, page_size))
