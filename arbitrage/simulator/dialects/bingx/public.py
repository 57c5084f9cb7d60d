"""BingX public endpoints (+ the signed wallets call ccxt makes in load_markets when currencies are on)."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.dialects.bingx import formatting as f
from arbitrage.simulator.dialects.bingx.dialect import DIALECT, envelope
from arbitrage.simulator.dialects.common import RequestContext, dashed_id, fmt, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.order_book import book

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def _one_or_all(ctx: RequestContext, render: Any) -> Any:
    """``data`` is an object when ``symbol`` is sent, else an array over all listed instruments."""
    symbol = ctx.param("symbol")
    if symbol:
        return envelope(ctx, render(DIALECT.instrument_for_id(ctx.venue, symbol)))
    listed: list[Instrument] = [inst for inst in ctx.venue.instruments.values() if inst.listed]
    return envelope(ctx, [render(instrument) for instrument in listed])


@DIALECT.route("GET", "/openApi/swap/v2/server/time")
def server_time(ctx: RequestContext) -> Any:
    return envelope(ctx, {"serverTime": ctx.now()})


@DIALECT.route("GET", "/openApi/swap/v2/quote/contracts")
def contracts(ctx: RequestContext) -> Any:
    instruments = list(ctx.venue.instruments.values())
    symbol = ctx.param("symbol")
    if symbol:
        instruments = [DIALECT.instrument_for_id(ctx.venue, symbol)]
    return envelope(ctx, [f.contract(instrument, index) for index, instrument in enumerate(instruments)])


@DIALECT.route("GET", "/openApi/cswap/v1/market/contracts")
def coin_margined_contracts(ctx: RequestContext) -> Any:
    return envelope(ctx, [])  # the simulator has no coin-margined (inverse) swaps


@DIALECT.route("GET", "/openApi/spot/v1/common/symbols")
def spot_symbols(ctx: RequestContext) -> Any:
    return envelope(ctx, {"symbols": []})  # no spot markets: keeps ccxt ids unambiguous (BTC-USDT = the swap)


@DIALECT.route("GET", "/openApi/swap/v2/quote/premiumIndex")
def premium_index(ctx: RequestContext) -> Any:
    return _one_or_all(ctx, f.premium_index)


@DIALECT.route("GET", "/openApi/swap/v2/quote/ticker")
def ticker(ctx: RequestContext) -> Any:
    return _one_or_all(ctx, lambda instrument: f.ticker(instrument, ctx.now()))


@DIALECT.route("GET", "/openApi/swap/v2/quote/depth")
def depth(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    limit = parse_int(ctx.param("limit", 20), "limit")
    if limit not in DEPTH_LIMITS:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"limit must be one of {DEPTH_LIMITS}", param="limit")
    bids, asks = book(instrument, limit)
    return envelope(ctx, {
        "T": ctx.now(),
        "bids": [[f.price(instrument, p), f.qty(instrument, q)] for p, q in bids],
        "asks": [[f.price(instrument, p), f.qty(instrument, q)] for p, q in asks],
    })


@DIALECT.route("GET", "/openApi/swap/v2/quote/fundingRate")
def funding_rate_history(ctx: RequestContext) -> Any:
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    start = parse_int(ctx.param("startTime"), "startTime") if ctx.param("startTime") else None
    end = parse_int(ctx.param("endTime"), "endTime") if ctx.param("endTime") else None
    limit = parse_int(ctx.param("limit", 100), "limit")
    if not 1 <= limit <= 1000:
        raise SimError(ErrorKind.INVALID_PARAMETER, "limit out of range", param="limit")
    records = [
        record
        for record in instrument.funding_rate_history
        if (start is None or record.funding_time >= start) and (end is None or record.funding_time <= end)
    ]
    records.sort(key=lambda record: record.funding_time, reverse=True)  # BingX lists the newest first
    return envelope(
        ctx,
        [
            {"symbol": dashed_id(instrument), "fundingRate": fmt(record.rate), "fundingTime": record.funding_time}
            for record in records[:limit]
        ],
    )


@DIALECT.route("GET", "/openApi/wallets/v1/capital/config/getall", signed=True)
def currencies(ctx: RequestContext) -> Any:
    coins = ["USDT"] + sorted({instrument.base for instrument in ctx.venue.instruments.values()})
    return envelope(
        ctx,
        [
            {
                "coin": coin,
                "name": coin,
                "networkList": [
                    {
                        "name": coin,
                        "network": "BEP20" if coin != "USDT" else "TRC20",
                        "isDefault": True,
                        "minConfirm": 1,
                        "withdrawEnable": True,
                        "depositEnable": True,
                        "withdrawFee": "1",
                        "withdrawMax": "100000",
                        "withdrawMin": "10",
                        "depositMin": "1",
                    }
                ],
            }
            for coin in coins
        ],
    )
