"""Shared machinery for exchange dialects: request model, routing, auth helpers, error rendering, formatting.

A dialect module (``arbitrage/simulator/dialects/<exchange_id>.py`` or package) exports ``DIALECT``, an instance of a
:class:`Dialect` subclass that

* registers handlers with ``@DIALECT.route("GET", "/fapi/v1/order", signed=True)`` (path relative to the
  ``/<exchange_id>`` prefix; ``{name}`` segments become ``ctx.path_params[name]``);
* implements :meth:`Dialect.authenticate` (verify key, signature and timestamp with the helpers below; return the
  engine :class:`Account`) — called before every ``signed=True`` handler;
* implements :meth:`Dialect.error_body` mapping a neutral :class:`ErrorKind` to ``(http_status, body)``.

Handlers receive a :class:`RequestContext` and return a JSON-able object (served with HTTP 200) or a ready
``web.Response``; they raise :class:`SimError` for rejections (engine errors propagate the same way).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDictProxy

from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.faults import FaultAction
from arbitrage.simulator.rate_limits import Refusal, Usage
from arbitrage.simulator.trading import execute_order

if TYPE_CHECKING:
    from arbitrage.simulator.accounts import Account, Order, OrderRequest
    from arbitrage.simulator.engine import Engine
    from arbitrage.simulator.faults import FaultRegistry
    from arbitrage.simulator.instruments import Instrument
    from arbitrage.simulator.venue import Venue

Handler = Callable[["RequestContext"], Any | Awaitable[Any]]


# --------------------------------------------------------------------------- request model
@dataclass
class SimRequest:
    """One HTTP request as the dialect sees it (path without the ``/<exchange_id>`` prefix)."""

    exchange_id: str
    method: str
    path: str
    raw_query: str  # exactly as sent (percent-encoding kept) — sign over this, never over a re-encoded query
    body: str  # raw body text — sign over this, never over re-serialized JSON
    headers: CIMultiDictProxy[str]
    received_ns: int
    query: dict[str, str] = field(default_factory=dict)  # decoded, last value wins
    form: dict[str, str] = field(default_factory=dict)  # decoded x-www-form-urlencoded body
    json_body: Any = None  # parsed JSON body (None when absent or not JSON)

    @classmethod
    async def from_aiohttp(cls, request: web.Request, exchange_id: str, path: str, received_ns: int) -> SimRequest:
        raw_query = request.rel_url.raw_query_string
        body = await request.text() if request.can_read_body else ""
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        form: dict[str, str] = {}
        json_body: Any = None
        stripped = body.strip()
        if stripped.startswith(("{", "[")):
            try:
                json_body = json.loads(stripped)
            except json.JSONDecodeError:
                json_body = None
        elif stripped and "=" in stripped:
            form = dict(parse_qsl(stripped, keep_blank_values=True))
        return cls(exchange_id, request.method, path, raw_query, body, request.headers, received_ns, query, form, json_body)

    @property
    def params(self) -> dict[str, Any]:
        """Query, form body and JSON object body merged (body wins)."""
        merged: dict[str, Any] = {**self.query, **self.form}
        if isinstance(self.json_body, dict):
            merged.update(self.json_body)
        return merged


@dataclass
class RequestContext:
    engine: Engine
    venue: Venue
    request: SimRequest
    path_params: dict[str, str] = field(default_factory=dict)
    account: Account | None = None
    faults: FaultRegistry | None = None
    partial_fill_id: int | None = None  # the partial_fill fault that capped this request's order, if any
    timestamp_ms: int | None = None  # a signed request's timestamp and receive window, as the dialect read them
    recv_window_ms: int | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.request.params

    def place_order(self, account: Account, request: OrderRequest) -> Order:
        """:func:`execute_order` on this venue with matching order-level faults applied (used up only if the order executes):
        ``partial_fill`` caps the fill, ``index_lag`` hides the executed order from lookups for a while."""
        partial = lag = None
        if self.faults is not None:
            req = self.request
            where = (req.exchange_id, req.method, req.path, req.params)
            if request.max_fill_quantity is None:
                partial = self.faults.order_fault(FaultAction.PARTIAL_FILL, *where)
            lag = self.faults.order_fault(FaultAction.INDEX_LAG, *where)
        if partial is not None:
            request = replace(request, max_fill_quantity=partial.max_fill_quantity(request.quantity))
        order = execute_order(self.venue, account, request)
        if partial is not None and self.faults is not None:
            self.faults.use(partial)
            self.partial_fill_id = partial.id
        if lag is not None and self.faults is not None:
            order.indexed_at = self.now() + lag.lag_ms
            self.faults.use(lag)
        return order

    def now(self) -> int:
        """The exchange's own clock (it may run ahead of or behind the engine's: `clock_offset_ms`)."""
        return self.venue.now()

    def within_window(self, timestamp_ms: int, window_ms: int, future_tolerance_ms: int = 1000) -> bool:
        """The exchange's timestamp rule, checked when the request is processed (after any hold), as live."""
        self.timestamp_ms, self.recv_window_ms = timestamp_ms, window_ms
        return timestamp_in_window(timestamp_ms, self.now(), window_ms, future_tolerance_ms)

    def require_account(self) -> Account:
        if self.account is None:
            raise SimError(ErrorKind.AUTH_MISSING_KEY, "this endpoint needs an authenticated request")
        return self.account

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def require(self, name: str) -> Any:
        value = self.params.get(name)
        if value is None or value == "":
            raise SimError(ErrorKind.MISSING_PARAMETER, f"mandatory parameter '{name}' was not sent", param=name)
        return value


@dataclass
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    signed: bool


@dataclass
class DialectResult:
    response: web.StreamResponse
    error_kind: ErrorKind | None = None
    error_message: str | None = None


# --------------------------------------------------------------------------- dialect base
class Dialect:
    """Routing + error rendering for one exchange. Subclass, set ``exchange_id``, implement the two hooks."""

    exchange_id: str = ""
    api_key_headers: tuple[str, ...] = ()  # where a request carries its API key (rate limits count per key)

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._symbol_cache: dict[tuple[int, str], str] = {}

    # -- hooks --------------------------------------------------------------------------------
    def api_key(self, request: SimRequest) -> str | None:
        return next((request.headers[name] for name in self.api_key_headers if request.headers.get(name)), None)

    def rate_limit_response(self, refusal: Refusal, request: SimRequest) -> web.Response:
        """The exchange's answer to a request over one of its rate limits (the request is not processed)."""
        response = self.error_response(refusal.rule.kind, refusal.message, refusal.details)
        response.headers.update(self.rate_limit_headers([], refusal))
        return response

    def rate_limit_headers(self, usages: list[Usage], refusal: Refusal | None = None) -> dict[str, str]:
        """Response headers reporting the budgets a request used (none by default)."""
        return {}

    def authenticate(self, ctx: RequestContext) -> Account:
        raise NotImplementedError

    def error_body(self, kind: ErrorKind, message: str, details: Mapping[str, Any]) -> tuple[int, Any]:
        """(HTTP status, JSON-able body or plain-text str) for a rejection."""
        raise NotImplementedError

    def symbol_id(self, instrument: Instrument) -> str:
        """The exchange's market id for an instrument (default: BTCUSDT)."""
        return compact_id(instrument)

    # -- routing ------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, *, signed: bool = False) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "$")

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method.upper(), pattern, regex, handler, signed))
            return handler

        return register

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method.upper():
                match = route.regex.match(path)
                if match:
                    return route, match.groupdict()
        return None

    async def handle(self, ctx: RequestContext) -> DialectResult:
        resolved = self.resolve(ctx.request.method, ctx.request.path)
        try:
            if resolved is None:
                raise SimError(
                    ErrorKind.UNKNOWN_ENDPOINT,
                    f"{ctx.request.method} {ctx.request.path} is not simulated for {self.exchange_id}",
                )
            route, ctx.path_params = resolved
            if route.signed:
                ctx.account = self.authenticate(ctx)
            result = route.handler(ctx)
            if inspect.isawaitable(result):
                result = await result
        except SimError as error:
            return DialectResult(self.error_response(error.kind, error.message, error.details), error.kind, error.message)
        if isinstance(result, web.StreamResponse):
            return DialectResult(result)
        return DialectResult(json_response(result))

    def error_response(
        self, kind: ErrorKind, message: str | None = None, details: Mapping[str, Any] | None = None
    ) -> web.Response:
        status, body = self.error_body(kind, message or kind.value, details or {})
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return json_response(body, status)

    # -- symbols ------------------------------------------------------------------------------
    def requested_instrument(self, ctx: RequestContext) -> Instrument:
        """The instrument the request's `symbol` names (MISSING_PARAMETER / UNKNOWN_SYMBOL otherwise)."""
        return self.instrument_for_id(ctx.venue, ctx.require("symbol"))

    def requested_instruments(self, ctx: RequestContext) -> list[Instrument]:
        """The instrument `symbol` names, or every instrument when the request names none."""
        symbol = ctx.param("symbol")
        return [self.instrument_for_id(ctx.venue, symbol)] if symbol else list(ctx.venue.instruments.values())

    def instrument_for_id(self, venue: Venue, market_id: Any) -> Instrument:
        if not isinstance(market_id, str) or not market_id:
            raise SimError(ErrorKind.MISSING_PARAMETER, "mandatory parameter 'symbol' was not sent", param="symbol")
        for instrument in venue.instruments.values():
            if self.symbol_id(instrument) == market_id:
                return instrument
        raise SimError(ErrorKind.UNKNOWN_SYMBOL, f"invalid symbol {market_id}", symbol=market_id)


def render_message(template: str | None, message: str, details: Mapping[str, Any]) -> str:
    """The exchange's message: an explicit ``details['msg']`` override (faults), else the template filled from
    ``details`` (``"Leverage {leverage} is not valid"``), else the engine's own message."""
    if details.get("msg"):
        return str(details["msg"])
    if template is None:
        return message
    try:
        return template.format_map(details)
    except (KeyError, IndexError, ValueError):
        return message if "{" in template else template


# --------------------------------------------------------------------------- signing and auth helpers
def hmac_sha256_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signature_matches(secret: str, payload: str, signature: str | None) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(hmac_sha256_hex(secret, payload), signature.lower())


def split_signed(raw: str, name: str = "signature") -> tuple[str, str] | None:
    """``'a=1&b=2&signature=ff'`` → ``('a=1&b=2', 'ff')`` (payload exactly as sent); None if unsigned."""
    marker = f"&{name}="
    if marker in raw:
        payload, signature = raw.rsplit(marker, 1)
        return payload, signature
    if raw.startswith(f"{name}="):
        return "", raw[len(name) + 1 :]
    return None


def timestamp_in_window(timestamp_ms: int, now_ms: int, window_ms: int, future_tolerance_ms: int = 1000) -> bool:
    """Binance-style rule: reject when ``ts > now + tolerance`` or ``now − ts > window``."""
    return timestamp_ms <= now_ms + future_tolerance_ms and now_ms - timestamp_ms <= window_ms


def parse_int(value: Any, name: str) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise SimError(ErrorKind.INVALID_PARAMETER, f"parameter '{name}' must be an integer", param=name) from None


def parse_decimal(value: Any, name: str) -> Decimal:
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise SimError(ErrorKind.INVALID_PARAMETER, f"parameter '{name}' is not a number", param=name) from None
    if not result.is_finite():
        raise SimError(ErrorKind.INVALID_PARAMETER, f"parameter '{name}' is not a number", param=name)
    return result


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise SimError(ErrorKind.INVALID_PARAMETER, f"parameter '{name}' must be true or false", param=name)


# --------------------------------------------------------------------------- formatting
def fmt(value: Decimal | int, places: int | None = None) -> str:
    """Decimal → plain string, never scientific notation; ``places`` quantizes (half-up)."""
    value = Decimal(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{value:f}"
    text = f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def decimals_of(step: Decimal) -> int:
    """Number of decimal places of a step/tick (0.001 → 3, 1 → 0, 0.10 → 1)."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def num(value: Decimal | int) -> int | float:
    """A JSON number for venues that send numbers (wire output only; internal money stays Decimal)."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def compact_id(instrument: Instrument) -> str:
    return f"{instrument.base}{instrument.quote}"


def dashed_id(instrument: Instrument) -> str:
    return f"{instrument.base}-{instrument.quote}"


def underscore_id(instrument: Instrument) -> str:
    return f"{instrument.base}_{instrument.quote}"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return fmt(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), default=_json_default)


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=dumps(payload), content_type="application/json")
