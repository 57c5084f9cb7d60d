"""Binance USDⓈ-M: authentication (X-MBX-APIKEY + HMAC over the raw query/body) and error codes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from arbitrage.simulator.accounts import Account
from arbitrage.simulator.dialects.common import (
    Dialect,
    RequestContext,
    parse_int,
    render_message,
    signature_matches,
    split_signed,
)
from arbitrage.simulator.errors import ErrorKind as K
from arbitrage.simulator.errors import SimError
from arbitrage.simulator.rate_limits import Refusal, Usage

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000

# kind → (HTTP status, code, msg template); real Binance codes and messages, as ccxt 4.5.90 maps them
ERRORS: dict[K, tuple[int, int, str]] = {
    K.UNKNOWN_SYMBOL: (400, -1121, "Invalid symbol."),
    K.SYMBOL_DELISTED: (400, -4140, "Invalid symbol status for opening position."),
    K.ORDER_TYPE_UNSUPPORTED: (400, -1116, "Invalid orderType."),
    K.INVALID_QUANTITY: (400, -4003, "Quantity less than or equal to zero."),
    K.QUANTITY_STEP: (400, -1111, "Precision is over the maximum defined for this asset."),
    K.QUANTITY_BELOW_MIN: (400, -4004, "Quantity less than minimum quantity."),
    K.QUANTITY_ABOVE_MAX: (400, -4005, "Quantity greater than maximum quantity."),
    K.NOTIONAL_BELOW_MIN: (
        400,
        -4164,
        "Order's notional must be no smaller than {min_notional} (unless you choose reduce only).",
    ),
    K.INVALID_PRICE: (400, -4014, "Price not increased by tick size."),
    K.DUPLICATE_CLIENT_ORDER_ID: (400, -4116, "ClientOrderId is duplicated."),
    K.INVALID_CLIENT_ORDER_ID: (400, -4015, "Client order id is not valid."),
    K.POSITION_SIDE_MISMATCH: (400, -4061, "Order's position side does not match user's setting."),
    K.REDUCE_ONLY_REJECTED: (400, -2022, "ReduceOnly Order is rejected."),
    K.NO_POSITION: (400, -2022, "ReduceOnly Order is rejected."),
    K.INSUFFICIENT_MARGIN: (400, -2019, "Margin is insufficient."),
    K.POSITION_EXCEEDS_LEVERAGE_TIER: (400, -2027, "Exceeded the maximum allowable position at current leverage."),
    K.ORDER_NOT_FOUND: (400, -2013, "Order does not exist."),
    K.LEVERAGE_OUT_OF_RANGE: (400, -4028, "Leverage {leverage} is not valid"),
    K.LEVERAGE_POSITION_OPEN: (
        400,
        -4161,
        "Leverage reduction is not supported in Isolated Margin Mode with open positions.",
    ),
    K.POSITION_MODE_NOT_MODIFIED: (400, -4059, "No need to change position side."),
    K.POSITION_MODE_POSITION_OPEN: (400, -4068, "Position side cannot be changed if there exists position."),
    K.MARGIN_MODE_NOT_MODIFIED: (400, -4046, "No need to change margin type."),
    K.MARGIN_MODE_POSITION_OPEN: (400, -4048, "Margin type cannot be changed if there exists position."),
    K.MISSING_PARAMETER: (400, -1102, "Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
    K.INVALID_PARAMETER: (400, -1130, "Data sent for parameter '{param}' is not valid."),
    K.AUTH_MISSING_KEY: (401, -2014, "API-key format invalid."),
    K.AUTH_INVALID_KEY: (401, -2015, "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1"),
    K.AUTH_BAD_SIGNATURE: (400, -1022, "Signature for this request is not valid."),
    K.AUTH_TIMESTAMP: (400, -1021, "Timestamp for this request is outside of the recvWindow."),
    K.RATE_LIMITED: (
        429,
        -1003,
        "Too much request weight used; current limit is {limit} request weight per {interval}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    ),
    K.IP_RATE_LIMITED: (
        429,
        -1003,
        "Too much request weight used; current limit is {limit} request weight per {interval}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    ),
    K.ORDER_RATE_LIMITED: (429, -1015, "Too many new orders; current limit is {limit} orders per {interval}."),
    K.INTERNAL_ERROR: (500, -1001, "Internal error; unable to process your request. Please try again."),
    K.MAINTENANCE: (503, -1000, "System is under maintenance."),
}


# The documented defaults, for rate-limit errors injected as faults (the limiter passes its own numbers).
RATE_LIMIT_DEFAULTS = {
    K.RATE_LIMITED: {"limit": 2400, "window_ms": 60_000},
    K.IP_RATE_LIMITED: {"limit": 2400, "window_ms": 60_000},
    K.ORDER_RATE_LIMITED: {"limit": 300, "window_ms": 10_000},
}


def interval_text(window_ms: int, *, orders: bool) -> str:
    """Binance's wording of a limit's interval: ``1 MINUTE`` for weight; ``TEN_SECONDS``, ``MINUTE`` for orders."""
    named = {10_000: "TEN_SECONDS", 60_000: "MINUTE"}
    if orders and window_ms in named:
        return named[window_ms]
    if window_ms % 60_000 == 0:
        return f"{window_ms // 60_000} MINUTE"
    if window_ms % 1000 == 0:
        return f"{window_ms // 1000} SECOND"
    return f"{window_ms} MILLISECOND"


def interval_suffix(window_ms: int) -> str:
    """The interval in Binance's usage headers: ``X-MBX-USED-WEIGHT-1M``, ``X-MBX-ORDER-COUNT-10S``."""
    if window_ms % 60_000 == 0:
        return f"{window_ms // 60_000}M"
    if window_ms % 1000 == 0:
        return f"{window_ms // 1000}S"
    return f"{window_ms}MS"


class BinanceUsdmDialect(Dialect):
    exchange_id = "binanceusdm"
    api_key_headers = ("X-MBX-APIKEY",)

    def rate_limit_headers(self, usages: list[Usage], refusal: Refusal | None = None) -> dict[str, str]:
        headers = {}
        for usage in usages:
            kind = "ORDER-COUNT" if usage.rule.kind is K.ORDER_RATE_LIMITED else "USED-WEIGHT"
            headers[f"X-MBX-{kind}-{interval_suffix(usage.rule.window_ms)}"] = str(usage.used)
        if refusal is not None:
            headers["Retry-After"] = str(max(1, math.ceil(refusal.retry_after_ms / 1000)))
        return headers

    def authenticate(self, ctx: RequestContext) -> Account:
        request = ctx.request
        api_key = request.headers.get("X-MBX-APIKEY")
        if not api_key:
            raise SimError(K.AUTH_MISSING_KEY, "missing X-MBX-APIKEY header")
        account = ctx.venue.accounts.get(api_key)
        if account is None:
            raise SimError(K.AUTH_INVALID_KEY, "unknown API key")
        payload = self._signed_payload(request.raw_query, request.body)
        if payload is None:
            raise SimError(K.MISSING_PARAMETER, "signature missing", param="signature")
        signed, signature = payload
        if not signature_matches(account.secret, signed, signature):
            raise SimError(K.AUTH_BAD_SIGNATURE, "signature mismatch")
        timestamp = parse_int(ctx.require("timestamp"), "timestamp")
        window = parse_int(ctx.param("recvWindow", DEFAULT_RECV_WINDOW_MS), "recvWindow")
        if window <= 0 or window > MAX_RECV_WINDOW_MS:
            raise SimError(K.INVALID_PARAMETER, "recvWindow must be less than 60000", param="recvWindow")
        if not ctx.within_window(timestamp, window):
            raise SimError(K.AUTH_TIMESTAMP, "timestamp outside recvWindow")
        return account

    @staticmethod
    def _signed_payload(raw_query: str, body: str) -> tuple[str, str] | None:
        """Binance signs query + body concatenated; the signature sits at the end of whichever carries it."""
        in_query = split_signed(raw_query)
        if in_query is not None:
            return in_query
        in_body = split_signed(body)
        if in_body is not None:
            return raw_query + in_body[0], in_body[1]
        return None

    def error_body(self, kind: K, message: str, details: Mapping[str, Any]) -> tuple[int, Any]:
        if kind in (K.UNKNOWN_ENDPOINT, K.UNKNOWN_VENUE):
            return 404, "Not Found"
        if kind is K.ORDER_NOT_FOUND and details.get("cancel"):
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        status, code, template = ERRORS.get(kind, (400, -1000, "An unknown error occurred while processing the request."))
        code = int(details.get("code", code))
        if kind in RATE_LIMIT_DEFAULTS:
            details = {**RATE_LIMIT_DEFAULTS[kind], **details}
            details["interval"] = interval_text(int(details["window_ms"]), orders=kind is K.ORDER_RATE_LIMITED)
        return status, {"code": code, "msg": render_message(template, message, details)}


DIALECT = BinanceUsdmDialect()
