"""BingX signed account endpoints: leverage, tiers, margin/position mode, positions, balances, income."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.accounts import Account, MarginMode, PositionSide
from arbitrage.simulator.dialects.bingx import formatting as f
from arbitrage.simulator.dialects.bingx.dialect import DIALECT, envelope
from arbitrage.simulator.dialects.common import RequestContext, dashed_id, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError

SEVEN_DAYS_MS = 7 * 86_400_000
INCOME_TYPES = ("FUNDING_FEE", "TRADING_FEE", "REALIZED_PNL", "TRANSFER", "INSURANCE_CLEAR", "ADL",
                "SYSTEM_DEDUCTION", "TRIAL_FUND", "GTD_PRICE")


def _choice(ctx: RequestContext, name: str, allowed: tuple[str, ...]) -> str:
    value = str(ctx.require(name))
    if value not in allowed:  # BingX enums are case-sensitive
        raise SimError(ErrorKind.INVALID_PARAMETER, f"invalid {name}", param=name)
    return value


def _optional_int(ctx: RequestContext, name: str) -> int | None:
    value = ctx.param(name)
    return parse_int(value, name) if value not in (None, "") else None


# ----------------------------------------------------------------------------- leverage
@DIALECT.route("POST", "/openApi/swap/v2/trade/leverage", signed=True)
def set_leverage(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    account = ctx.require_account()
    side = PositionSide(_choice(ctx, "side", ("LONG", "SHORT", "BOTH")))
    leverage = parse_int(ctx.require("leverage"), "leverage")
    if account.hedge_mode == (side is PositionSide.BOTH):  # one-way: BOTH only; hedge: LONG or SHORT only
        raise SimError(
            ErrorKind.POSITION_SIDE_MISMATCH, "side does not match the position mode", hedge=account.hedge_mode
        )
    try:
        target = None if side is PositionSide.BOTH else side
        change = ctx.venue.set_leverage(account, instrument.symbol, leverage, target)
    except SimError as error:
        raise SimError(error.kind, error.message, **{**error.details, "market_id": dashed_id(instrument)}) from None
    value = change.short if side is PositionSide.SHORT else change.long
    return envelope(ctx, f.set_leverage_body(ctx.venue, account, instrument, value))


@DIALECT.route("GET", "/openApi/swap/v2/trade/leverage", signed=True)
def get_leverage(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    return envelope(ctx, f.leverage_body(ctx.venue, ctx.require_account(), instrument))


@DIALECT.route("GET", "/openApi/swap/v1/maintMarginRatio", signed=True)
def maintenance_margin_ratio(ctx: RequestContext) -> Any:
    return envelope(ctx, [row for instrument in DIALECT.requested_instruments(ctx) for row in f.leverage_tiers(instrument)])


# ----------------------------------------------------------------------------- margin and position mode
@DIALECT.route("POST", "/openApi/swap/v2/trade/marginType", signed=True)
def set_margin_type(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    isolated = _choice(ctx, "marginType", ("ISOLATED", "CROSSED")) == "ISOLATED"
    mode = MarginMode.ISOLATED if isolated else MarginMode.CROSS
    try:
        ctx.venue.set_margin_mode(ctx.require_account(), instrument.symbol, mode)
    except SimError as error:
        if error.kind is not ErrorKind.MARGIN_MODE_NOT_MODIFIED:  # BingX accepts a no-op switch silently
            raise
    return envelope(ctx, {})


@DIALECT.route("GET", "/openApi/swap/v2/trade/marginType", signed=True)
def get_margin_type(ctx: RequestContext) -> Any:
    instrument = DIALECT.requested_instrument(ctx)
    mode = ctx.require_account().margin_mode(instrument.symbol)
    return envelope(ctx, {"marginType": "ISOLATED" if mode is MarginMode.ISOLATED else "CROSSED",
                          "symbol": dashed_id(instrument)})


def _dual(account: Account) -> dict[str, str]:
    return {"dualSidePosition": "true" if account.hedge_mode else "false"}  # a STRING: ccxt compares to "true"


@DIALECT.route("POST", "/openApi/swap/v1/positionSide/dual", signed=True)
def set_position_mode(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    hedge = _choice(ctx, "dualSidePosition", ("true", "false")) == "true"
    try:
        ctx.venue.set_position_mode(account, hedge)
    except SimError as error:
        if error.kind is not ErrorKind.POSITION_MODE_NOT_MODIFIED:  # a no-op switch succeeds
            raise
    return envelope(ctx, _dual(account))


@DIALECT.route("GET", "/openApi/swap/v1/positionSide/dual", signed=True)
def get_position_mode(ctx: RequestContext) -> Any:
    return envelope(ctx, _dual(ctx.require_account()))


# ----------------------------------------------------------------------------- positions and balances
@DIALECT.route("GET", "/openApi/swap/v2/user/positions", signed=True)
def positions(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    views = ctx.venue.position_views(account, wanted)
    return envelope(ctx, [f.position_row(ctx.venue, account, view) for view in views])


@DIALECT.route("GET", "/openApi/swap/v3/user/balance", signed=True)
@DIALECT.route("GET", "/openApi/swap/v2/user/balance", signed=True)
def swap_balance(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    row = f.swap_balance(account, ctx.venue.balance(account))
    if ctx.request.path.startswith("/openApi/swap/v2/"):
        return envelope(ctx, {"balance": row})
    return envelope(ctx, [row])


@DIALECT.route("GET", "/openApi/spot/v1/account/balance", signed=True)
def spot_balance(ctx: RequestContext) -> Any:
    """The spot wallet is separate from the perpetual account (what ccxt's default ``defaultType='spot'`` reads)."""
    free = str(ctx.venue.config.options.get("spot_usdt_balance", "0"))
    return envelope(ctx, {"balances": [{"asset": "USDT", "free": free, "locked": "0"}]})


@DIALECT.route("GET", "/openApi/swap/v2/user/income", signed=True)
def income(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    symbol = ctx.param("symbol")
    wanted = DIALECT.instrument_for_id(ctx.venue, symbol).symbol if symbol else None
    income_type = ctx.param("incomeType")
    if income_type is not None and income_type not in INCOME_TYPES:
        raise SimError(ErrorKind.INVALID_PARAMETER, "invalid incomeType", param="incomeType")
    start, end = _optional_int(ctx, "startTime"), _optional_int(ctx, "endTime")
    if start is None and end is None:
        start = ctx.now() - SEVEN_DAYS_MS
    limit = parse_int(ctx.param("limit", 100), "limit")
    if not 1 <= limit <= 1000:
        raise SimError(ErrorKind.INVALID_PARAMETER, "limit out of range", param="limit")
    rows: list[tuple[str, str, Any, int, str, str]] = [
        (payment.symbol, "FUNDING_FEE", payment.amount, payment.paid_time, payment.id, payment.position_id)
        for payment in account.funding_history
    ]
    for fill in account.fills:
        rows.append((fill.symbol, "TRADING_FEE", -fill.fee, fill.time, f"1{fill.id}", fill.id))
        if fill.realized_pnl:
            rows.append((fill.symbol, "REALIZED_PNL", fill.realized_pnl, fill.time, f"2{fill.id}", fill.id))
    selected = [
        row
        for row in rows
        if (wanted is None or row[0] == wanted)
        and (income_type is None or row[1] == income_type)
        and (start is None or row[3] >= start)
        and (end is None or row[3] <= end)
    ]
    selected.sort(key=lambda row: row[3])
    return envelope(
        ctx,
        [f.income_row(ctx.venue.instrument(row[0]), *row[1:]) for row in selected[:limit]],
    )
