"""Bybit v5 account and position endpoints: UTA detection, wallet, coins, leverage, position and margin modes,
position list."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.accounts import MarginMode, PositionSide
from arbitrage.simulator.dialects.bybit import formatting as f
from arbitrage.simulator.dialects.bybit.dialect import DIALECT
from arbitrage.simulator.dialects.bybit.market import category, ok
from arbitrage.simulator.dialects.common import RequestContext, parse_decimal, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument

MARGIN_MODES = {"ISOLATED_MARGIN": MarginMode.ISOLATED, "REGULAR_MARGIN": MarginMode.CROSS}


def string_field(ctx: RequestContext, name: str) -> str:
    """Bybit's JSON fields like qty/buyLeverage are strings; a JSON number is rejected (Go unmarshal error)."""
    value = ctx.require(name)
    if not isinstance(value, str):
        raise SimError(
            ErrorKind.INVALID_PARAMETER,
            f"{name} must be a string",
            param=name,
            msg=f"params error: json: cannot unmarshal number into Go struct field .{name} of type string",
        )
    return value


def leverage_field(ctx: RequestContext, name: str, instrument: Instrument) -> int:
    value = parse_decimal(string_field(ctx, name), name)
    if value != value.to_integral_value() or value < instrument.min_leverage:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"{name} {value} is not a valid leverage", param=name)
    return int(value)


# ----------------------------------------------------------------------------- unified-account detection
@DIALECT.route("GET", "/v5/user/query-api", signed=True)
def query_api(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    user_id = int(account.uid) if account.uid.isdigit() else 1
    permissions = {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"], "Wallet": ["AccountTransfer"],
                   "Options": [], "Derivatives": [], "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": []}
    return ok(ctx, {
        "id": account.uid, "note": account.name or "simulator", "apiKey": account.api_key, "readOnly": 0,
        "secret": "", "permissions": permissions, "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "",
        "createdAt": "2024-01-01T00:00:00Z", "unified": 0, "uta": 1, "userID": user_id, "inviterID": 0,
        "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "", "isMaster": True,
    })  # fmt: skip


@DIALECT.route("GET", "/v5/account/info", signed=True)
def account_info(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    mode = "ISOLATED_MARGIN" if account.default_margin_mode is MarginMode.ISOLATED else "REGULAR_MARGIN"
    return ok(ctx, {
        "marginMode": mode, "updatedTime": str(account.update_time), "unifiedMarginStatus": 6, "dcpStatus": "OFF",
        "timeWindow": 10, "smpGroup": 0, "isMasterTrader": False, "spotHedgingStatus": "OFF",
    })  # fmt: skip


# ----------------------------------------------------------------------------- wallet and coins
@DIALECT.route("GET", "/v5/account/wallet-balance", signed=True)
def wallet_balance(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    account_type = ctx.require("accountType")
    if account_type != "UNIFIED":
        raise SimError(ErrorKind.INVALID_PARAMETER, "UTA only", msg="accountType only support UNIFIED.")
    body = f.wallet_account(account, ctx.venue.balance(account))
    coins = [coin for coin in str(ctx.param("coin", "")).split(",") if coin]
    if coins:
        body["coin"] = [row for row in body["coin"] if row["coin"] in coins]
    return ok(ctx, {"list": [body]})


@DIALECT.route("GET", "/v5/asset/coin/query-info", signed=True)
def coin_info(ctx: RequestContext) -> Any:
    coins = ["USDT"] + sorted({instrument.base for instrument in ctx.venue.instruments.values()})
    wanted = ctx.param("coin")
    chain = {"chainType": "ERC20", "confirmation": "64", "withdrawFee": "1", "depositMin": "0", "withdrawMin": "10",
             "chain": "ETH", "chainDeposit": "1", "chainWithdraw": "1", "minAccuracy": "8",
             "withdrawPercentageFee": "0"}  # fmt: skip
    rows = [
        {"name": coin, "coin": coin, "remainAmount": "1000000", "chains": [chain]}
        for coin in coins
        if not wanted or coin == wanted
    ]
    return ok(ctx, {"rows": rows})


# ----------------------------------------------------------------------------- leverage and modes
@DIALECT.route("POST", "/v5/position/set-leverage", signed=True)
def set_leverage(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    category(ctx)
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    buy = leverage_field(ctx, "buyLeverage", instrument)
    sell = leverage_field(ctx, "sellLeverage", instrument)
    venue = ctx.venue
    if not account.hedge_mode:
        if buy != sell:
            raise SimError(
                ErrorKind.INVALID_PARAMETER, "one-way mode", msg="buy leverage must be equal to sell leverage"
            )
        changed = venue.set_leverage(account, instrument.symbol, buy).changed
    else:
        before = dict(venue.leverage(account, instrument.symbol))
        try:
            long = venue.set_leverage(account, instrument.symbol, buy, PositionSide.LONG)
            short = venue.set_leverage(account, instrument.symbol, sell, PositionSide.SHORT)
        except SimError:
            account.leverage[instrument.symbol] = before  # all or nothing, like the real endpoint
            raise
        changed = long.changed or short.changed
    if not changed:
        raise SimError(ErrorKind.LEVERAGE_NOT_MODIFIED, "leverage not modified")
    return ok(ctx, {})


@DIALECT.route("POST", "/v5/position/switch-mode", signed=True)
def switch_mode(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    category(ctx)
    mode = parse_int(ctx.require("mode"), "mode")
    if mode not in (0, 3):
        raise SimError(ErrorKind.INVALID_PARAMETER, "mode must be 0 or 3", param="mode")
    symbol, coin = ctx.param("symbol"), ctx.param("coin")
    if not symbol and not coin:
        raise SimError(ErrorKind.MISSING_PARAMETER, "symbol or coin required", param="symbol or coin")
    if symbol:
        DIALECT.instrument_for_id(ctx.venue, symbol)
    elif coin != "USDT":
        raise SimError(ErrorKind.INVALID_PARAMETER, "only USDT contracts are simulated", param="coin")
    ctx.venue.set_position_mode(account, mode == 3)
    return ok(ctx, {})


@DIALECT.route("POST", "/v5/account/set-margin-mode", signed=True)
def set_margin_mode(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    requested = ctx.require("setMarginMode")
    if requested not in MARGIN_MODES:
        raise SimError(ErrorKind.INVALID_PARAMETER, "unsupported margin mode", param="setMarginMode")
    try:
        ctx.venue.set_margin_mode(account, None, MARGIN_MODES[requested])
    except SimError as error:
        if error.kind is ErrorKind.MARGIN_MODE_POSITION_OPEN:
            reason = {"reasonCode": "3400214", "reasonMsg": "You have position(s) or active order(s) in USDT perpetual"}
            raise SimError(error.kind, error.message, result={"reasons": [reason]}) from None
        raise
    return ok(ctx, {"reasons": []})


@DIALECT.route("POST", "/v5/position/switch-isolated", signed=True)
def switch_isolated(ctx: RequestContext) -> Any:
    ctx.require_account()
    # every simulated Bybit account is a unified trading account; UTA answers this classic endpoint with 100028
    raise SimError(
        ErrorKind.INVALID_PARAMETER,
        "classic-account endpoint",
        code=100028,
        msg="The API cannot be accessed by unified account.",
    )


# ----------------------------------------------------------------------------- positions
@DIALECT.route("GET", "/v5/position/list", signed=True)
def position_list(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    kind = category(ctx)
    venue = ctx.venue
    symbol, settle, base = ctx.param("symbol"), ctx.param("settleCoin"), ctx.param("baseCoin")
    if not symbol and not settle and not base:
        raise SimError(
            ErrorKind.MISSING_PARAMETER, "symbol or settleCoin", param="symbol", msg="Missing symbol or settleCoin"
        )
    rows: list[dict[str, Any]] = []
    if symbol:  # an explicit symbol also returns empty rows (size 0), which is how leverage is read back
        instrument = DIALECT.instrument_for_id(venue, symbol)
        sides = [PositionSide.LONG, PositionSide.SHORT] if account.hedge_mode else [PositionSide.BOTH]
        views = {view.position.position_side: view for view in venue.position_views(account, instrument.symbol)}
        leverage = venue.leverage(account, instrument.symbol)
        for side in sides:
            side_leverage = leverage[PositionSide.SHORT if side is PositionSide.SHORT else PositionSide.LONG]
            rows.append(f.position_row(instrument, side, side_leverage, views.get(side)))
    else:
        for view in venue.position_views(account):
            instrument = venue.instrument(view.position.symbol)
            if (settle and instrument.settle != settle) or (base and instrument.base != base):
                continue
            rows.append(f.position_row(instrument, view.position.position_side, view.leverage, view))
    page, cursor = f.paginate(ctx, rows, default_limit=20, max_limit=200)
    return ok(ctx, {"list": page, "nextPageCursor": cursor, "category": kind})
