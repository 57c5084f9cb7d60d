"""MEXC public endpoints: contract market data (``/api/v1/contract/...``) and the spot v3 calls ccxt's
``load_markets``/``fetch_time`` make (``/api/v3/...``), plus the signed spot v3 currencies/account calls."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.dialects.common import RequestContext, parse_int
from arbitrage.simulator.dialects.mexc import formatting as f
from arbitrage.simulator.dialects.mexc import market as m
from arbitrage.simulator.dialects.mexc.dialect import DIALECT, contract_ok
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.order_book import book

DEFAULT_DEPTH = 1000

MAX_RATE_HISTORY_PAGE = 1000


def _indexed(ctx: RequestContext) -> list[tuple[int, Instrument]]:
    return list(enumerate(ctx.venue.instruments.values()))


def _index_of(ctx: RequestContext, instrument: Instrument) -> int:
    return list(ctx.venue.instruments.values()).index(instrument)


def page_params(ctx: RequestContext, default_size: int, max_size: int) -> tuple[int, int]:
    page_num = parse_int(ctx.param("page_num", 1), "page_num")
    page_size = parse_int(ctx.param("page_size", default_size), "page_size")
    if page_num < 1 or page_size < 1 or page_size > max_size:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"page_num >= 1 and page_size 1..{max_size}", param="page_size")
    return page_num, page_size


# ----------------------------------------------------------------------------- spot v3
@DIALECT.route("GET", "/api/v3/ping")
def spot_ping(ctx: RequestContext) -> Any:
    return {}


@DIALECT.route("GET", "/api/v3/time")
def spot_time(ctx: RequestContext) -> Any:
    return {"serverTime": ctx.now()}


@DIALECT.route("GET", "/api/v3/exchangeInfo")
def spot_exchange_info(ctx: RequestContext) -> Any:
    # the simulator lists no spot markets; ccxt accepts an empty list
    return {"timezone": "CST", "serverTime": ctx.now(), "rateLimits": [], "exchangeFilters": [], "symbols": []}


@DIALECT.route("GET", "/api/v3/capital/config/getall", signed=True)
def spot_currencies(ctx: RequestContext) -> Any:
    coins = ["USDT"] + sorted({instrument.base for instrument in ctx.venue.instruments.values()})
    return [
        {
            "coin": coin,
            "name": coin,
            "networkList": [
                {
                    "coin": coin,
                    "depositDesc": None,
                    "depositEnable": True,
                    "minConfirm": 10,
                    "name": coin,
                    "network": "ERC20",
                    "withdrawEnable": True,
                    "withdrawFee": "1",
                    "withdrawIntegerMultiple": None,
                    "withdrawMax": "1000000",
                    "withdrawMin": "10",
                    "sameAddress": False,
                    "contract": "",
                    "withdrawTips": None,
                    "depositTips": None,
                    "netWork": "ETH",
                }
            ],
        }
        for coin in coins
    ]


@DIALECT.route("GET", "/api/v3/account", signed=True)
def spot_account(ctx: RequestContext) -> Any:
    account = ctx.require_account()
    return {
        "makerCommission": None,
        "takerCommission": None,
        "buyerCommission": None,
        "sellerCommission": None,
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "updateTime": account.update_time or None,
        "accountType": "SPOT",
        "balances": [],  # the simulated account holds futures margin only
        "permissions": ["SPOT"],
    }


# ----------------------------------------------------------------------------- contract
@DIALECT.route("GET", "/api/v1/contract/ping")
def contract_ping(ctx: RequestContext) -> Any:
    return contract_ok(ctx.now())


@DIALECT.route("GET", "/api/v1/contract/detail")
def contract_detail(ctx: RequestContext) -> Any:
    symbol = ctx.param("symbol")
    if symbol:
        instrument = DIALECT.instrument_for_id(ctx.venue, symbol)
        return contract_ok(m.contract_detail(instrument, _index_of(ctx, instrument)))
    return contract_ok([m.contract_detail(instrument, index) for index, instrument in _indexed(ctx)])


# history first: the {symbol} pattern would match "history" too
@DIALECT.route("GET", "/api/v1/contract/funding_rate/history")
def funding_rate_history(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    page_num, page_size = page_params(ctx, 20, MAX_RATE_HISTORY_PAGE)
    records = sorted(instrument.funding_rate_history, key=lambda record: record.funding_time, reverse=True)
    rows = [
        {
            "symbol": DIALECT.symbol_id(instrument),
            "fundingRate": f.num(record.rate),
            "settleTime": record.funding_time,
            "collectCycle": m.collect_cycle(instrument),
        }
        for record in records
    ]
    return contract_ok(f.page(rows, page_num, page_size))


@DIALECT.route("GET", "/api/v1/contract/funding_rate/{symbol}")
def funding_rate(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.path_params["symbol"])
    return contract_ok(m.funding_rate(instrument, ctx.now()))


@DIALECT.route("GET", "/api/v1/contract/ticker")
def ticker(ctx: RequestContext) -> Any:
    symbol = ctx.param("symbol")
    if symbol:
        instrument = DIALECT.instrument_for_id(ctx.venue, symbol)
        return contract_ok(m.ticker(instrument, _index_of(ctx, instrument), ctx.now()))
    listed = [(index, instrument) for index, instrument in _indexed(ctx) if instrument.listed]
    return contract_ok([m.ticker(instrument, index, ctx.now()) for index, instrument in listed])


@DIALECT.route("GET", "/api/v1/contract/depth/{symbol}")
def depth(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.path_params["symbol"])
    limit = parse_int(ctx.param("limit", DEFAULT_DEPTH), "limit")
    if limit < 1:
        raise SimError(ErrorKind.INVALID_PARAMETER, "limit must be positive", param="limit")
    bids, asks = book(instrument, limit)
    # [price, volume in contracts, order count]
    return contract_ok({
        "asks": [[f.num(p), f.num(q), 1] for p, q in asks],
        "bids": [[f.num(p), f.num(q), 1] for p, q in bids],
        "version": ctx.now(),
        "timestamp": ctx.now(),
    })


@DIALECT.route("GET", "/api/v1/contract/fair_price/{symbol}")
def fair_price(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.path_params["symbol"])
    return contract_ok({"symbol": DIALECT.symbol_id(instrument), "fairPrice": f.num(instrument.mark_price),
                        "timestamp": ctx.now()})


@DIALECT.route("GET", "/api/v1/contract/index_price/{symbol}")
def index_price(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.path_params["symbol"])
    return contract_ok({"symbol": DIALECT.symbol_id(instrument), "indexPrice": f.num(instrument.effective_index_price),
                        "timestamp": ctx.now()})
