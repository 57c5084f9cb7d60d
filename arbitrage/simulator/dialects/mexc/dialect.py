"""MEXC: authentication (contract ApiKey/Request-Time/Signature headers, spot v3 query signature) and error codes.

Contract errors are ``{"success":false,"code":N,"message":".."}`` with HTTP 200; the signed spot v3 calls ccxt makes
during ``load_markets``/spot ``fetch_balance`` answer Binance-style ``{"code":N,"msg":".."}`` with HTTP 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from arbitrage.simulator.accounts import Account
from arbitrage.simulator.dialects.common import (
    Dialect,
    RequestContext,
    SimRequest,
    parse_int,
    render_message,
    signature_matches,
    split_signed,
    underscore_id,
)
from arbitrage.simulator.errors import ErrorKind as K
from arbitrage.simulator.errors import SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.rate_limits import Refusal

# MEXC's documented window: "Request-Time more or less than 10 s" is rejected; the optional Recv-Window header
# (seconds, max 60) widens it. Scenario option ``request_time_window_ms`` overrides the default.
DEFAULT_REQUEST_WINDOW_MS = 10_000
MAX_RECV_WINDOW_S = 60
SPOT_DEFAULT_RECV_WINDOW_MS = 5000
SPOT_MAX_RECV_WINDOW_MS = 60_000
SPOT_PREFIX = "/api/v3/"

# The brief fixes 700003 (ccxt: InvalidNonce) for a stale Request-Time. MEXC's contract docs list 513 "Invalid
# request (for open api serves time more or less than 10s)" (ccxt: BadRequest); the scenario option
# ``request_time_error_code`` switches to it.
TIMESTAMP_CODE = 700003
TIMESTAMP_MESSAGE = "Request-Time is outside of the allowed window"

# kind → (code, message template). Codes from MEXC's contract error table; ccxt 4.5.90's class per code in the comments.
ERRORS: dict[K, tuple[int, str]] = {
    K.UNKNOWN_SYMBOL: (1001, "Contract does not exist!"),  # BadSymbol
    K.SYMBOL_DELISTED: (1002, "Contract not allow place order!"),  # InvalidOrder (also broad)
    K.ORDER_TYPE_UNSUPPORTED: (2029, "Error order type"),  # ExchangeError
    K.INVALID_QUANTITY: (2011, "Order quantity error, please try to modify."),  # BadRequest
    K.QUANTITY_STEP: (2011, "Order quantity error, please try to modify."),
    K.QUANTITY_BELOW_MIN: (2011, "Order quantity error, please try to modify."),
    K.QUANTITY_ABOVE_MAX: (2028, "The maximum order quantity is exceeded"),  # ExchangeError
    K.NOTIONAL_BELOW_MIN: (2011, "Order quantity error, please try to modify."),
    K.INVALID_PRICE: (2007, "Order price error"),
    K.DUPLICATE_CLIENT_ORDER_ID: (603, "Repeated requests"),  # BadRequest [unverified code]
    K.INVALID_CLIENT_ORDER_ID: (2030, "External order ID is too long (Max. 32 bits)"),
    K.POSITION_SIDE_MISMATCH: (600, "Param error!"),  # positionMode differs from the account's mode
    K.REDUCE_ONLY_REJECTED: (2008, "The quantity is insufficient"),  # close vol > held vol (ExchangeError)
    K.NO_POSITION: (2009, "Positions do not exist or have been closed"),  # InvalidOrder
    K.INSUFFICIENT_MARGIN: (2005, "Insufficient balance!"),  # InsufficientFunds
    K.POSITION_EXCEEDS_LEVERAGE_TIER: (2031, "The allowable holding position exceed the current risk limit"),
    K.ORDER_NOT_FOUND: (2040, "Order does not exist"),  # ExchangeError [unverified code]
    K.LEVERAGE_OUT_OF_RANGE: (2006, "Leverage ratio error"),  # ExchangeError
    K.LEVERAGE_NOT_MODIFIED: (600, "Param error!"),
    K.LEVERAGE_POSITION_OPEN: (2019, "There is an active open position"),
    K.POSITION_MODE_NOT_MODIFIED: (600, "Param error!"),
    K.POSITION_MODE_POSITION_OPEN: (2019, "There is an active open position"),
    K.MARGIN_MODE_NOT_MODIFIED: (600, "Param error!"),
    K.MARGIN_MODE_POSITION_OPEN: (2027, "There is only one cross or isolated in the same direction"),
    K.MISSING_PARAMETER: (600, "Param error!"),  # BadRequest (broad "Param error!")
    K.INVALID_PARAMETER: (600, "Param error!"),
    K.AUTH_MISSING_KEY: (401, "Not logged in or login has expired"),  # AuthenticationError
    K.AUTH_INVALID_KEY: (402, "Api_key expired"),  # AuthenticationError
    K.AUTH_BAD_SIGNATURE: (602, "Signature verification failed!"),  # AuthenticationError
    K.AUTH_TIMESTAMP: (TIMESTAMP_CODE, TIMESTAMP_MESSAGE),  # InvalidNonce
    K.RATE_LIMITED: (510, "Requests are too frequent!"),  # RateLimitExceeded
    K.ORDER_RATE_LIMITED: (510, "Requests are too frequent!"),
    K.IP_RATE_LIMITED: (510, "Requests are too frequent!"),
    K.INTERNAL_ERROR: (500, "Internal error"),  # ExchangeError
    K.MAINTENANCE: (500, "System under maintenance, please try again later"),  # OnMaintenance (broad)
}

# Spot v3 (Binance-like) codes for the few signed spot calls.
SPOT_ERRORS: dict[K, tuple[int, str]] = {
    K.AUTH_MISSING_KEY: (700001, "API-key format invalid."),  # AuthenticationError
    K.AUTH_INVALID_KEY: (10072, "Api key info invalid"),  # BadRequest in ccxt
    K.AUTH_BAD_SIGNATURE: (700002, "Signature for this request is not valid."),  # AuthenticationError
    K.AUTH_TIMESTAMP: (700003, "Timestamp for this request is outside of the recvWindow."),  # InvalidNonce
    K.MISSING_PARAMETER: (700004, "Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
    K.INVALID_PARAMETER: (700004, "Parameter '{param}' is not valid."),
    K.RATE_LIMITED: (429, "Too Many Requests"),
    K.ORDER_RATE_LIMITED: (429, "Too Many Requests"),
    K.IP_RATE_LIMITED: (429, "Too Many Requests"),
    K.MAINTENANCE: (500, "System under maintenance"),
}


class MexcDialect(Dialect):
    exchange_id = "mexc"
    api_key_headers = ("ApiKey", "X-MEXC-APIKEY")

    def rate_limit_response(self, refusal: Refusal, request: SimRequest) -> web.Response:
        """Spot v3 calls (made by ccxt's load_markets) answer in the spot format."""
        spot = {"spot": True} if request.path.startswith(SPOT_PREFIX) else {}
        return self.error_response(refusal.rule.kind, refusal.message, {**refusal.details, **spot})

    def symbol_id(self, instrument: Instrument) -> str:
        return underscore_id(instrument)

    # ------------------------------------------------------------------ auth
    def authenticate(self, ctx: RequestContext) -> Account:
        if ctx.request.path.startswith(SPOT_PREFIX):
            return self._authenticate_spot(ctx)
        request = ctx.request
        api_key = request.headers.get("ApiKey")
        if not api_key:
            raise SimError(K.AUTH_MISSING_KEY, "missing ApiKey header")
        account = ctx.venue.accounts.get(api_key)
        if account is None:
            raise SimError(K.AUTH_INVALID_KEY, "unknown API key")
        request_time = request.headers.get("Request-Time", "")
        signature = request.headers.get("Signature")
        payload = request.body if request.method in ("POST", "PUT") else request.raw_query
        signed = api_key + request_time + payload
        if not request_time.isdigit() or not signature_matches(account.secret, signed, signature):
            raise SimError(K.AUTH_BAD_SIGNATURE, "signature mismatch")
        if request.method not in ("POST", "PUT") and not _sorted_query(request.raw_query):
            # MEXC signs the parameters in dictionary order; an unsorted query cannot match its signature
            raise SimError(K.AUTH_BAD_SIGNATURE, "query parameters are not sorted")
        window = self._window_ms(ctx)
        if not ctx.within_window(int(request_time), window, future_tolerance_ms=window):
            raise SimError(K.AUTH_TIMESTAMP, "Request-Time outside the window", **self._timestamp_override(ctx))
        return account

    def _window_ms(self, ctx: RequestContext) -> int:
        header = ctx.request.headers.get("Recv-Window")
        if header:
            seconds = parse_int(header, "Recv-Window")
            if seconds <= 0 or seconds > MAX_RECV_WINDOW_S:
                raise SimError(K.INVALID_PARAMETER, "Recv-Window must be 1..60 seconds", param="Recv-Window")
            return seconds * 1000
        return int(ctx.venue.config.options.get("request_time_window_ms", DEFAULT_REQUEST_WINDOW_MS))

    @staticmethod
    def _timestamp_override(ctx: RequestContext) -> dict[str, Any]:
        code = ctx.venue.config.options.get("request_time_error_code")
        if code is None or int(code) == TIMESTAMP_CODE:
            return {}
        return {"code": int(code), "msg": "Invalid request(for open api serves time more or less than 10s)"}

    def _authenticate_spot(self, ctx: RequestContext) -> Account:
        request = ctx.request
        api_key = request.headers.get("X-MEXC-APIKEY")
        if not api_key:
            raise SimError(K.AUTH_MISSING_KEY, "missing X-MEXC-APIKEY header", spot=True)
        account = ctx.venue.accounts.get(api_key)
        if account is None:
            raise SimError(K.AUTH_INVALID_KEY, "unknown API key", spot=True)
        signed = split_signed(request.raw_query)
        if signed is None:
            raise SimError(K.MISSING_PARAMETER, "signature missing", param="signature", spot=True)
        payload, signature = signed
        if not signature_matches(account.secret, payload + request.body, signature):
            raise SimError(K.AUTH_BAD_SIGNATURE, "signature mismatch", spot=True)
        try:
            timestamp = parse_int(ctx.require("timestamp"), "timestamp")
            window = parse_int(ctx.param("recvWindow", SPOT_DEFAULT_RECV_WINDOW_MS), "recvWindow")
        except SimError as error:
            raise SimError(error.kind, error.message, spot=True, **error.details) from None
        if window <= 0 or window > SPOT_MAX_RECV_WINDOW_MS:
            raise SimError(K.INVALID_PARAMETER, "recvWindow must be <= 60000", param="recvWindow", spot=True)
        if not ctx.within_window(timestamp, window):
            raise SimError(K.AUTH_TIMESTAMP, "timestamp outside recvWindow", spot=True)
        return account

    # ------------------------------------------------------------------ errors
    def error_body(self, kind: K, message: str, details: Mapping[str, Any]) -> tuple[int, Any]:
        if kind in (K.UNKNOWN_ENDPOINT, K.UNKNOWN_VENUE):
            return 404, "Not Found"
        if details.get("spot"):
            code, template = SPOT_ERRORS.get(kind) or ERRORS.get(kind, (700004, message))
            code = int(details.get("code", code))
            return 400, {"code": code, "msg": render_message(template, message, details)}
        code, template = ERRORS.get(kind, (9999, "Public abnormal"))
        code = int(details.get("code", code))
        return 200, {"success": False, "code": code, "message": render_message(template, message, details)}


def _sorted_query(raw_query: str) -> bool:
    keys = [key for key, _ in parse_qsl(raw_query, keep_blank_values=True)]
    return keys == sorted(keys)


def contract_ok(data: Any = None, *, with_data: bool = True) -> dict[str, Any]:
    """The contract success envelope."""
    body: dict[str, Any] = {"success": True, "code": 0}
    if with_data:
        body["data"] = data
    return body


DIALECT = MexcDialect()
