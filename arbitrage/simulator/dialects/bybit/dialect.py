"""Bybit v5: authentication (X-BAPI-* headers, HMAC over the raw query/body), the envelope and the error codes.

Every Bybit answer, errors included, is ``{"retCode","retMsg","result","retExtInfo","time"}`` with HTTP 200; ccxt
classifies a rejection by ``retCode`` (and by substrings of the whole body, e.g. ``Not supported symbols``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from arbitrage.simulator.accounts import Account
from arbitrage.simulator.dialects.common import (
    Dialect,
    RequestContext,
    parse_int,
    render_message,
    signature_matches,
)
from arbitrage.simulator.errors import ErrorKind as K
from arbitrage.simulator.errors import SimError
from arbitrage.simulator.rate_limits import Refusal, Scope, Usage

DEFAULT_RECV_WINDOW_MS = 5000
FUTURE_TOLERANCE_MS = 1000  # Bybit: server_time - recv_window <= timestamp < server_time + 1000

# kind → (retCode, retMsg template); real Bybit v5 codes (ccxt 4.5.90's exception class in the comments)
ERRORS: dict[K, tuple[int, str]] = {
    K.UNKNOWN_SYMBOL: (10001, "Not supported symbols"),  # broad match → BadSymbol
    K.SYMBOL_DELISTED: (110066, "No trading is allowed at the current time"),  # ExchangeError
    K.ORDER_TYPE_UNSUPPORTED: (10001, "params error: orderType invalid"),  # BadRequest
    K.INVALID_QUANTITY: (10001, "params error: qty invalid"),
    K.QUANTITY_STEP: (10001, "params error: qty has too many decimals, qtyStep is {step}"),
    K.QUANTITY_BELOW_MIN: (10001, "The number of contracts exceeds minimum limit allowed"),
    K.QUANTITY_ABOVE_MAX: (10001, "The number of contracts exceeds maximum limit allowed"),
    K.NOTIONAL_BELOW_MIN: (110094, "Order does not meet minimum order value {min_notional}USDT"),  # InvalidOrder
    K.INVALID_PRICE: (10001, "params error: price invalid"),
    K.DUPLICATE_CLIENT_ORDER_ID: (110072, "OrderLinkedID is duplicate"),  # InvalidOrder
    K.INVALID_CLIENT_ORDER_ID: (10001, "params error: orderLinkId invalid"),
    K.POSITION_SIDE_MISMATCH: (10001, "position idx not match position mode"),  # BadRequest
    K.REDUCE_ONLY_REJECTED: (110017, "Reduce-only rule not satisfied"),  # InvalidOrder
    K.NO_POSITION: (110017, "current position is zero, cannot fix reduce-only order qty"),  # InvalidOrder
    K.INSUFFICIENT_MARGIN: (110007, "ab not enough for new order"),  # InsufficientFunds
    K.POSITION_EXCEEDS_LEVERAGE_TIER: (
        110090,
        "Order placement failed as your position may exceed the max limit. Please adjust your leverage to "
        "{max_leverage} or below to increase the max. position limit.",
    ),
    K.ORDER_NOT_FOUND: (110001, "order not exists or too late to cancel"),  # OrderNotFound
    K.LEVERAGE_OUT_OF_RANGE: (110013, "cannot set leverage [{leverage_e2}] gt maxLeverage [{max_e2}] by risk limit"),
    K.LEVERAGE_NOT_MODIFIED: (110043, "leverage not modified"),  # BadRequest (the product treats it as success)
    K.LEVERAGE_POSITION_OPEN: (110013, "Cannot set leverage due to risk limit level"),
    K.POSITION_MODE_NOT_MODIFIED: (110025, "Position mode is not modified"),  # NoChange
    K.POSITION_MODE_POSITION_OPEN: (
        110024,
        "You have an existing position, so the position mode cannot be switched",
    ),  # BadRequest
    K.MARGIN_MODE_NOT_MODIFIED: (110026, "Cross/isolated margin mode is not modified"),  # MarginModeAlreadySet
    K.MARGIN_MODE_POSITION_OPEN: (3400045, "Set margin mode failed"),  # ExchangeError, reasons in result
    K.MISSING_PARAMETER: (10001, "params error: {param} is required"),
    K.INVALID_PARAMETER: (10001, "params error: {param} invalid"),
    K.AUTH_MISSING_KEY: (10003, "API key is invalid."),  # AuthenticationError
    K.AUTH_INVALID_KEY: (10003, "API key is invalid."),
    K.AUTH_BAD_SIGNATURE: (10004, "Error sign, please check your signature generation algorithm."),
    K.AUTH_TIMESTAMP: (
        10002,
        "invalid request, please check your server timestamp or recv_window param. "
        "req_timestamp[{req_timestamp}],server_timestamp[{server_timestamp}],recv_window[{recv_window}]",
    ),  # InvalidNonce
    K.UNKNOWN_ENDPOINT: (10017, "route not found"),
    K.UNKNOWN_VENUE: (10017, "route not found"),
    K.RATE_LIMITED: (10006, "Too many visits!"),  # RateLimitExceeded
    K.ORDER_RATE_LIMITED: (10006, "Too many visits!"),
    K.INTERNAL_ERROR: (10016, "Server error."),  # ExchangeError
    K.MAINTENANCE: (10016, "Service is restarting, please retry later."),
}


def wall_time_ms() -> int:
    return time.time_ns() // 1_000_000


def envelope(result: Any, now: int, code: int = 0, message: str = "OK", ext: Any = None) -> dict[str, Any]:
    return {"retCode": code, "retMsg": message, "result": result, "retExtInfo": ext or {}, "time": now}


def _message_details(kind: K, details: Mapping[str, Any]) -> dict[str, Any]:
    """Bybit quotes leverage ×100 in 110013 ("cannot set leverage [12500] gt maxLeverage [10000]")."""
    values = dict(details)
    if kind is K.LEVERAGE_OUT_OF_RANGE:
        if "leverage" in values:
            values["leverage_e2"] = int(values["leverage"]) * 100
        if "max_leverage" in values:
            values["max_e2"] = int(values["max_leverage"]) * 100
    return values


# Over the per-IP limit Bybit answers HTTP 403 with this text (no envelope); ccxt maps a 403 to RateLimitExceeded.
IP_LIMIT_TEXT = "access too frequent"


class BybitDialect(Dialect):
    exchange_id = "bybit"
    api_key_headers = ("X-BAPI-API-KEY",)

    def rate_limit_headers(self, usages: list[Usage], refusal: Refusal | None = None) -> dict[str, str]:
        """Bybit reports the per-UID budget of the endpoint: limit, remaining, and when it frees up (epoch ms)."""
        now = wall_time_ms()
        if refusal is not None:
            if refusal.rule.scope is not Scope.ACCOUNT:
                return {}
            rule, remaining, reset_ms = refusal.rule, 0, now + math.ceil(refusal.retry_after_ms)
        else:
            usage = next((usage for usage in usages if usage.rule.scope is Scope.ACCOUNT), None)
            if usage is None:
                return {}
            rule, remaining, reset_ms = usage.rule, max(0, usage.rule.limit - usage.used), now
        return {
            "X-Bapi-Limit": str(rule.limit),
            "X-Bapi-Limit-Status": str(remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
        }

    def authenticate(self, ctx: RequestContext) -> Account:
        request = ctx.request
        headers = request.headers
        api_key = headers.get("X-BAPI-API-KEY")
        if not api_key:
            raise SimError(K.AUTH_MISSING_KEY, "missing X-BAPI-API-KEY header")
        account = ctx.venue.accounts.get(api_key)
        if account is None:
            raise SimError(K.AUTH_INVALID_KEY, "unknown API key")
        timestamp_raw = headers.get("X-BAPI-TIMESTAMP", "")
        window_raw = headers.get("X-BAPI-RECV-WINDOW", "")
        payload = request.body if request.method == "POST" else request.raw_query
        signed = timestamp_raw + api_key + window_raw + payload  # Bybit v5: ts + key + recvWindow + query|body
        if not signature_matches(account.secret, signed, headers.get("X-BAPI-SIGN")):
            raise SimError(K.AUTH_BAD_SIGNATURE, "signature mismatch")
        timestamp = parse_int(timestamp_raw, "X-BAPI-TIMESTAMP") if timestamp_raw else 0
        window = parse_int(window_raw, "X-BAPI-RECV-WINDOW") if window_raw else DEFAULT_RECV_WINDOW_MS
        now = ctx.now()
        if window <= 0 or not ctx.within_window(timestamp, window, FUTURE_TOLERANCE_MS - 1):
            raise SimError(
                K.AUTH_TIMESTAMP,
                "timestamp outside recv_window",
                req_timestamp=timestamp,
                server_timestamp=now,
                recv_window=window,
            )
        return account

    def error_body(self, kind: K, message: str, details: Mapping[str, Any]) -> tuple[int, Any]:
        if kind is K.IP_RATE_LIMITED:
            return 403, IP_LIMIT_TEXT
        code, template = ERRORS.get(kind, (10016, "Server error."))
        code = int(details.get("code", code))
        text = render_message(template, message, _message_details(kind, details))
        result = details.get("result", {})
        return 200, envelope(result, wall_time_ms(), code, text)


DIALECT = BybitDialect()
