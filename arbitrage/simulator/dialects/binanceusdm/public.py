"""Binance USDⓈ-M public endpoints (+ the two signed sapi calls ccxt makes in load_markets)."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.dialects.binanceusdm import formatting as f
from arbitrage.simulator.dialects.binanceusdm.dialect import DIALECT
from arbitrage.simulator.dialects.common import RequestContext, compact_id, fmt, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.order_book import book

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
EIGHT_HOURS_S = 8 * 3600


def _listed(ctx: RequestContext) -> list[Instrument]:
    return [instrument for instrument in ctx.venue.instruments.values() if instrument.listed]


def _one_or_all(ctx: RequestContext, render: Any) -> Any:
    symbol = ctx.param("symbol")
    if symbol:
        return render(DIALECT.instrument_for_id(ctx.venue, symbol))
    return [render(instrument) for instrument in _listed(ctx)]


@DIALECT.route("GET", "/fapi/v1/ping")
def ping(ctx: RequestContext) -> Any:
    return {}


@DIALECT.route("GET", "/fapi/v1/time")
def server_time(ctx: RequestContext) -> Any:
    return {"serverTime": ctx.now()}


@DIALECT.route("GET", "/fapi/v1/exchangeInfo")
def exchange_info(ctx: RequestContext) -> Any:
    return {
        "timezone": "UTC",
        "serverTime": ctx.now(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [f.symbol_info(instrument) for instrument in ctx.venue.instruments.values()],
    }


@DIALECT.route("GET", "/fapi/v1/premiumIndex")
def premium_index(ctx: RequestContext) -> Any:
    return _one_or_all(ctx, lambda instrument: f.premium_index(instrument, ctx.now()))


@DIALECT.route("GET", "/fapi/v1/depth")
def depth(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    limit = parse_int(ctx.param("limit", 500), "limit")
    if limit not in DEPTH_LIMITS:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"limit must be one of {DEPTH_LIMITS}", param="limit")
    bids, asks = book(instrument, limit)
    now = ctx.now()
    return {
        "lastUpdateId": now,
        "E": now,
        "T": now,
        "bids": [[f.price(instrument, p), f.qty(instrument, q)] for p, q in bids],
        "asks": [[f.price(instrument, p), f.qty(instrument, q)] for p, q in asks],
    }


@DIALECT.route("GET", "/fapi/v1/fundingInfo")
def funding_info(ctx: RequestContext) -> Any:
    # Binance lists only the symbols whose interval or rate caps were adjusted: the rest settle every 8 h.
    return [
        {
            "symbol": compact_id(instrument),
            "adjustedFundingRateCap": "0.02000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": int(instrument.funding_interval_hours)
            if instrument.funding_interval_s % 3600 == 0
            else float(instrument.funding_interval_hours),
            "disclaimer": False,
        }
        for instrument in _listed(ctx)
        if instrument.funding_interval_s != EIGHT_HOURS_S or instrument.extra.get("funding_info_listed")
    ]


@DIALECT.route("GET", "/fapi/v1/fundingRate")
def funding_rate_history(ctx: RequestContext) -> Any:
    symbol = ctx.param("symbol")
    instruments = [DIALECT.instrument_for_id(ctx.venue, symbol)] if symbol else list(ctx.venue.instruments.values())
    start = ctx.param("startTime")
    end = ctx.param("endTime")
    limit = min(parse_int(ctx.param("limit", 100), "limit"), 1000)
    rows = [
        (record.funding_time, instrument, record)
        for instrument in instruments
        for record in instrument.funding_rate_history
        if (start is None or record.funding_time >= parse_int(start, "startTime"))
        and (end is None or record.funding_time <= parse_int(end, "endTime"))
    ]
    rows.sort(key=lambda row: row[0])
    rows = rows[:limit] if start is not None else rows[-limit:]
    return [
        {
            "symbol": compact_id(instrument),
            "fundingTime": record.funding_time,
            "fundingRate": fmt(record.rate, 8),
            "markPrice": fmt(record.mark_price, 8),
        }
        for _, instrument, record in rows
    ]


@DIALECT.route("GET", "/fapi/v1/ticker/24hr")
def ticker(ctx: RequestContext) -> Any:
    return _one_or_all(ctx, lambda instrument: f.ticker(instrument, ctx.now()))


@DIALECT.route("GET", "/fapi/v1/ticker/price")
def ticker_price(ctx: RequestContext) -> Any:
    return _one_or_all(
        ctx,
        lambda instrument: {
            "symbol": compact_id(instrument),
            "price": f.price(instrument, instrument.mark_price),
            "time": ctx.now(),
        },
    )


@DIALECT.route("GET", "/sapi/v1/capital/config/getall", signed=True)
def currencies(ctx: RequestContext) -> Any:
    coins = ["USDT"] + sorted({instrument.base for instrument in ctx.venue.instruments.values()})
    return [
        {
            "coin": coin,
            "depositAllEnable": True,
            "withdrawAllEnable": True,
            "name": coin,
            "free": "0",
            "locked": "0",
            "freeze": "0",
            "withdrawing": "0",
            "ipoing": "0",
            "ipoable": "0",
            "storage": "0",
            "isLegalMoney": False,
            "trading": True,
            "networkList": [],
        }
        for coin in coins
    ]


@DIALECT.route("GET", "/sapi/v1/margin/allPairs", signed=True)
def margin_pairs(ctx: RequestContext) -> Any:
    return [
        {
            "symbol": compact_id(instrument),
            "base": instrument.base,
            "quote": instrument.quote,
            "isMarginTrade": True,
            "isBuyAllowed": True,
            "isSellAllowed": True,
            "id": str(index + 1),
        }
        for index, instrument in enumerate(ctx.venue.instruments.values())
    ]
