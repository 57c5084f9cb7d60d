"""BingX perpetual swap: authentication (X-BX-APIKEY + HMAC over the raw query) and error codes.

Everything travels in the query string, also for POST (the body stays empty). The signature is HMAC-SHA256 over the
percent-DECODED query before ``&signature=`` (ccxt signs the sorted, un-encoded ``k=v&...`` and sends it encoded).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from arbitrage.simulator.accounts import Account
from arbitrage.simulator.dialects.common import (
    Dialect,
    RequestContext,
    dashed_id,
    parse_int,
    render_message,
    signature_matches,
    split_signed,
)
from arbitrage.simulator.errors import ErrorKind as K
from arbitrage.simulator.errors import SimError
from arbitrage.simulator.instruments import Instrument

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
ONE_WAY_SIDE_MSG = "In the One-way mode, the 'PositionSide' field can only be set to BOTH."
HEDGE_SIDE_MSG = "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT."

# kind → (HTTP status, code, msg template). BingX answers business errors with HTTP 200 and a non-zero ``code``;
# ccxt classifies on msg first, then code. Codes outside ccxt's table raise plain ExchangeError.
ERRORS: dict[K, tuple[int, int, str]] = {
    K.UNKNOWN_SYMBOL: (200, 109425, "{symbol} is not exist"),
    K.SYMBOL_DELISTED: (200, 109418, "This trading pair is suspended from trading, please try again later"),
    K.ORDER_TYPE_UNSUPPORTED: (200, 109400, "type: invalid, only MARKET orders are accepted"),
    K.INVALID_QUANTITY: (200, 109400, "quantity: must be greater than 0"),
    K.QUANTITY_STEP: (200, 109400, "quantity: the precision is invalid, it must be a multiple of {step}"),
    K.QUANTITY_BELOW_MIN: (200, 101400, "The minimum order amount is {min_qty} {base}."),
    K.QUANTITY_ABOVE_MAX: (200, 101400, "The maximum order amount is {max_qty} {base}."),
    K.NOTIONAL_BELOW_MIN: (200, 110425, "The order value must be at least {min_notional} USDT."),
    K.INVALID_PRICE: (200, 109400, "price: invalid"),
    # observed live: a reused clientOrderID is 101400 (InvalidOrder), not the DuplicateOrderId codes of ccxt's table
    K.DUPLICATE_CLIENT_ORDER_ID: (200, 101400, "clientOrderID unique check failed"),
    K.INVALID_CLIENT_ORDER_ID: (200, 109400, "clientOrderID: invalid, 1-40 characters of letters, digits, - and _"),
    K.POSITION_SIDE_MISMATCH: (200, 109400, ONE_WAY_SIDE_MSG),
    K.REDUCE_ONLY_REJECTED: (200, 101205, "The reduce-only order quantity exceeds the position that can be closed"),
    K.NO_POSITION: (200, 101205, "No position to close"),
    K.INSUFFICIENT_MARGIN: (200, 101204, "Insufficient margin"),
    K.POSITION_EXCEEDS_LEVERAGE_TIER: (
        200,
        101209,
        "The maximum position value for this leverage is {max_notional} USDT",
    ),
    K.ORDER_NOT_FOUND: (200, 80016, "order not exist"),
    K.LEVERAGE_OUT_OF_RANGE: (
        200,
        109400,
        "leverage: must be between {min_leverage} and {max_leverage}, got {leverage}",
    ),
    K.LEVERAGE_NOT_MODIFIED: (200, 109400, "leverage not modified"),
    K.LEVERAGE_POSITION_OPEN: (
        200,
        109400,
        "The leverage cannot be adjusted while there are open positions or orders in {market_id}",
    ),
    K.POSITION_MODE_NOT_MODIFIED: (200, 109400, "The position mode is already set"),
    K.POSITION_MODE_POSITION_OPEN: (
        200,
        109400,
        "The position mode cannot be switched while there are open positions or orders",
    ),
    K.MARGIN_MODE_NOT_MODIFIED: (200, 109400, "The margin mode is already set"),
    K.MARGIN_MODE_POSITION_OPEN: (
        200,
        109400,
        "The margin mode cannot be switched while there are open positions or orders",
    ),
    K.MISSING_PARAMETER: (200, 109400, "{param}: This field is required"),
    K.INVALID_PARAMETER: (200, 109400, "{param}: invalid"),
    K.AUTH_MISSING_KEY: (200, 100413, "Null apiKey"),
    K.AUTH_INVALID_KEY: (200, 100413, "Incorrect apiKey"),
    K.AUTH_BAD_SIGNATURE: (200, 100001, "Signature verification failed"),
    K.AUTH_TIMESTAMP: (200, 100421, "Null timestamp or timestamp mismatch"),
    K.UNKNOWN_ENDPOINT: (200, 100400, "this api is not exist"),
    K.UNKNOWN_VENUE: (200, 100400, "this api is not exist"),
    K.RATE_LIMITED: (200, 100410, "rate limitation"),
    K.ORDER_RATE_LIMITED: (200, 100410, "rate limitation"),
    K.IP_RATE_LIMITED: (200, 100410, "rate limitation"),
    K.INTERNAL_ERROR: (200, 100500, "Internal system error"),
    K.MAINTENANCE: (503, 100503, "The system is under maintenance, please try again later"),
}
# request-level rejections carry the envelope timestamp, business rejections an empty ``data`` object (as live)
_REQUEST_LEVEL = {K.AUTH_MISSING_KEY, K.AUTH_INVALID_KEY, K.AUTH_BAD_SIGNATURE, K.AUTH_TIMESTAMP, K.UNKNOWN_ENDPOINT,
                  K.UNKNOWN_VENUE, K.RATE_LIMITED, K.ORDER_RATE_LIMITED, K.IP_RATE_LIMITED}


class BingxDialect(Dialect):
    exchange_id = "bingx"
    api_key_headers = ("X-BX-APIKEY",)

    def symbol_id(self, instrument: Instrument) -> str:
        return dashed_id(instrument)

    def authenticate(self, ctx: RequestContext) -> Account:
        request = ctx.request
        api_key = request.headers.get("X-BX-APIKEY")
        if not api_key:
            raise SimError(K.AUTH_MISSING_KEY, "missing X-BX-APIKEY header")
        account = ctx.venue.accounts.get(api_key)
        if account is None:
            raise SimError(K.AUTH_INVALID_KEY, "unknown API key")
        signed = split_signed(request.raw_query)
        if signed is None:
            raise SimError(K.AUTH_BAD_SIGNATURE, "signature missing", code=100412, msg="Null signature")
        payload, signature = signed
        if not signature_matches(account.secret, urllib.parse.unquote(payload), signature):
            raise SimError(K.AUTH_BAD_SIGNATURE, "signature mismatch")
        raw_timestamp = ctx.param("timestamp")
        if not raw_timestamp:
            raise SimError(K.AUTH_TIMESTAMP, "timestamp missing")
        try:
            timestamp = int(str(raw_timestamp))
        except ValueError:
            raise SimError(K.AUTH_TIMESTAMP, "timestamp is not a number") from None
        default_window = int(ctx.venue.config.options.get("recv_window_ms", DEFAULT_RECV_WINDOW_MS))
        window = parse_int(ctx.param("recvWindow", default_window), "recvWindow")
        if window <= 0 or window > MAX_RECV_WINDOW_MS:
            raise SimError(K.INVALID_PARAMETER, "recvWindow out of range", param="recvWindow")
        if not ctx.within_window(timestamp, window):
            raise SimError(K.AUTH_TIMESTAMP, "timestamp outside the receive window")
        return account

    def error_body(self, kind: K, message: str, details: Mapping[str, Any]) -> tuple[int, Any]:
        status, code, template = ERRORS.get(kind, (200, 100500, "Internal system error"))
        if kind is K.POSITION_SIDE_MISMATCH and details.get("hedge"):
            template = HEDGE_SIDE_MSG
        code = int(details.get("code", code))
        body: dict[str, Any] = {"code": code, "msg": render_message(template, message, details)}
        if kind in _REQUEST_LEVEL:
            body["timestamp"] = self._now_ms()
        else:
            body["data"] = {}
        return status, body

    @staticmethod
    def _now_ms() -> int:
        return time.time_ns() // 1_000_000  # error_body has no engine clock; wall time is what BingX sends


DIALECT = BingxDialect()


def envelope(ctx: RequestContext, data: Any) -> dict[str, Any]:
    """BingX's success envelope."""
    return {"code": 0, "msg": "", "timestamp": ctx.now(), "data": data}
