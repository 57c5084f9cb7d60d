"""Bybit v5 public market endpoints: time, instruments-info (all categories ccxt asks for), tickers, funding
history, risk-limit (cursor-paged)."""

from __future__ import annotations

from typing import Any

from arbitrage.simulator.dialects.bybit import formatting as f
from arbitrage.simulator.dialects.bybit.dialect import DIALECT, envelope
from arbitrage.simulator.dialects.common import RequestContext, compact_id, fmt, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.order_book import book

MAX_LINEAR_DEPTH = 500  # linear/inverse: limit 1..500, default 25

CATEGORIES = ("spot", "linear", "inverse", "option")
DEFAULT_RISK_LIMIT_PAGE_SYMBOLS = 30  # real Bybit pages risk-limit by symbol groups (ccxt issue #22448)


def category(ctx: RequestContext, allowed: tuple[str, ...] = ("linear", "inverse")) -> str:
    """The ``category`` parameter: required, one of ``allowed`` (Bybit answers 10001 "Illegal category")."""
    value = ctx.param("category")
    if not value:
        raise SimError(ErrorKind.MISSING_PARAMETER, "category is required", param="category")
    if value not in allowed:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"category {value} not allowed", msg="Illegal category")
    return str(value)


def listed(ctx: RequestContext) -> list[Instrument]:
    return [instrument for instrument in ctx.venue.instruments.values() if instrument.listed]


def symbol_filter(ctx: RequestContext, instruments: list[Instrument]) -> list[Instrument]:
    symbol = ctx.param("symbol")
    if not symbol:
        return instruments
    return [DIALECT.instrument_for_id(ctx.venue, symbol)]


def ok(ctx: RequestContext, result: Any) -> dict[str, Any]:
    return envelope(result, ctx.now())


@DIALECT.route("GET", "/v5/market/time")
def server_time(ctx: RequestContext) -> Any:
    now = ctx.now()
    return envelope({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}, now)


@DIALECT.route("GET", "/v5/market/instruments-info", signed=False)
def instruments_info(ctx: RequestContext) -> Any:
    kind = category(ctx, CATEGORIES)
    if kind != "linear":  # only USDT linear perpetuals are simulated; other categories exist but are empty
        return ok(ctx, {"category": kind, "list": [], "nextPageCursor": ""})
    status = ctx.param("status")
    symbol = ctx.param("symbol")
    if symbol:  # an explicit symbol is returned whatever its status (unless a status filter excludes it)
        instruments = [DIALECT.instrument_for_id(ctx.venue, symbol)]
    else:  # Bybit lists only "Trading" symbols unless asked for another status (PreLaunch, Closed, ...)
        instruments = list(ctx.venue.instruments.values())
        status = status or "Trading"
    if status:
        instruments = [i for i in instruments if ("Trading" if i.listed else "Closed") == status]
    base_coin = ctx.param("baseCoin")
    if base_coin:
        instruments = [i for i in instruments if i.base == base_coin]
    page, cursor = f.paginate(ctx, instruments, default_limit=500, max_limit=1000)
    return ok(ctx, {"category": kind, "list": [f.instrument_info(i) for i in page], "nextPageCursor": cursor})


@DIALECT.route("GET", "/v5/market/tickers")
def tickers(ctx: RequestContext) -> Any:
    kind = category(ctx, CATEGORIES)
    if kind != "linear":
        if ctx.param("symbol"):
            raise SimError(ErrorKind.UNKNOWN_SYMBOL, "symbol not in category", symbol=ctx.param("symbol"))
        return ok(ctx, {"category": kind, "list": []})
    rows = [f.ticker(instrument) for instrument in symbol_filter(ctx, listed(ctx))]
    return ok(ctx, {"category": kind, "list": rows})


@DIALECT.route("GET", "/v5/market/orderbook")
def orderbook(ctx: RequestContext) -> Any:
    category(ctx, CATEGORIES)
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    limit = parse_int(ctx.param("limit", 25), "limit")
    if not 1 <= limit <= MAX_LINEAR_DEPTH:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"limit must be 1..{MAX_LINEAR_DEPTH}", param="limit")
    bids, asks = book(instrument, limit)
    now = ctx.now()
    return ok(ctx, {
        "s": compact_id(instrument),
        "b": [[f.price(instrument, p), f.qty(instrument, q)] for p, q in bids],
        "a": [[f.price(instrument, p), f.qty(instrument, q)] for p, q in asks],
        "ts": now,
        "u": now,
        "seq": now,
        "cts": now,
    })


@DIALECT.route("GET", "/v5/market/funding/history")
def funding_history(ctx: RequestContext) -> Any:
    kind = category(ctx)
    instrument = DIALECT.instrument_for_id(ctx.venue, ctx.require("symbol"))
    start = parse_int(ctx.param("startTime"), "startTime") if ctx.param("startTime") else None
    end = parse_int(ctx.param("endTime"), "endTime") if ctx.param("endTime") else None
    if start is not None and end is None:
        raise SimError(
            ErrorKind.INVALID_PARAMETER, "endTime required with startTime", msg="params error: endTime is required"
        )
    limit = parse_int(ctx.param("limit", 200), "limit")
    if limit < 1 or limit > 200:
        raise SimError(ErrorKind.INVALID_PARAMETER, "limit must be 1..200", param="limit")
    records = [
        record
        for record in instrument.funding_rate_history
        if (start is None or record.funding_time >= start) and (end is None or record.funding_time <= end)
    ]
    records.sort(key=lambda record: record.funding_time, reverse=True)  # Bybit: newest first
    rows = [
        {
            "symbol": compact_id(instrument),
            "fundingRate": fmt(record.rate),
            "fundingRateTimestamp": str(record.funding_time),
        }
        for record in records[:limit]
    ]
    return ok(ctx, {"category": kind, "list": rows})


@DIALECT.route("GET", "/v5/market/risk-limit")
def risk_limit(ctx: RequestContext) -> Any:
    kind = category(ctx)
    if kind != "linear":
        return ok(ctx, {"category": kind, "list": [], "nextPageCursor": ""})
    instruments = symbol_filter(ctx, list(ctx.venue.instruments.values()))
    page_symbols = int(ctx.venue.config.options.get("risk_limit_page_symbols", DEFAULT_RISK_LIMIT_PAGE_SYMBOLS))
    cursor = ctx.param("cursor")
    start = 0
    if cursor:
        if not str(cursor).isdigit():
            raise SimError(ErrorKind.INVALID_PARAMETER, "cursor is not valid", param="cursor")
        start = int(cursor)
    end = start + page_symbols
    rows = [row for instrument in instruments[start:end] for row in f.risk_rows(instrument)]
    next_cursor = str(end) if end < len(instruments) else ""
    return ok(ctx, {"category": kind, "list": rows, "nextPageCursor": next_cursor})
