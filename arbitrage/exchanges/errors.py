"""ccxt exception → neutral `ExchangeError`: ONE table decides retryable vs fatal vs outcome-unknown.

The reason shown to users is one clean line: the exchange's own message and code when the body is JSON,
never a URL query string (it carries signatures), never an HTML page, never a configured secret.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import ccxt.async_support as ccxt

from arbitrage.exchanges.connector import ErrorKind, ExchangeError, OrderNotFound

MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class ErrorRule:
    ccxt_class: type[BaseException]
    kind: ErrorKind
    retryable: bool
    # True where an ORDER request may have been executed although we got no answer: look it up by client id.
    unknown_if_order: bool = False


# First match wins: subclasses before their bases (ccxt 4.5.90's exception hierarchy).
ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(ccxt.OrderNotFound, ErrorKind.ORDER_NOT_FOUND, retryable=False),
    ErrorRule(ccxt.InsufficientFunds, ErrorKind.INSUFFICIENT_FUNDS, retryable=False),
    ErrorRule(ccxt.AuthenticationError, ErrorKind.AUTH, retryable=False),  # PermissionDenied, AccountSuspended
    ErrorRule(ccxt.BadSymbol, ErrorKind.UNKNOWN_SYMBOL, retryable=False),
    ErrorRule(ccxt.InvalidOrder, ErrorKind.INVALID_ORDER, retryable=False),  # DuplicateOrderId, OrderNotFillable
    ErrorRule(ccxt.NoChange, ErrorKind.NOT_MODIFIED, retryable=False),  # MarginModeAlreadySet
    ErrorRule(ccxt.NotSupported, ErrorKind.NOT_SUPPORTED, retryable=False),
    ErrorRule(ccxt.ArgumentsRequired, ErrorKind.BAD_REQUEST, retryable=False),
    ErrorRule(ccxt.BadRequest, ErrorKind.BAD_REQUEST, retryable=False),
    # The exchange answered: the request was refused, so an order was NOT executed.
    ErrorRule(ccxt.OnMaintenance, ErrorKind.MAINTENANCE, retryable=True),
    ErrorRule(ccxt.RateLimitExceeded, ErrorKind.RATE_LIMITED, retryable=True),
    ErrorRule(ccxt.DDoSProtection, ErrorKind.RATE_LIMITED, retryable=True),
    ErrorRule(ccxt.InvalidNonce, ErrorKind.CLOCK, retryable=True),
    # No (usable) answer: an order may or may not have been executed.
    ErrorRule(ccxt.RequestTimeout, ErrorKind.TIMEOUT, retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.ExchangeNotAvailable, ErrorKind.UNAVAILABLE, retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.NetworkError, ErrorKind.NETWORK, retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.OperationFailed, ErrorKind.EXCHANGE_FAILURE, retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.ExchangeError, ErrorKind.REJECTED, retryable=False),
    # Transport errors that escaped ccxt's own wrapping.
    ErrorRule(asyncio.TimeoutError, ErrorKind.TIMEOUT, retryable=True, unknown_if_order=True),
    ErrorRule(aiohttp.ClientError, ErrorKind.NETWORK, retryable=True, unknown_if_order=True),
    ErrorRule(OSError, ErrorKind.NETWORK, retryable=True, unknown_if_order=True),
)
_UNEXPECTED = ErrorRule(Exception, ErrorKind.UNEXPECTED, retryable=False, unknown_if_order=True)


def rule_for(error: BaseException) -> ErrorRule:
    return next((rule for rule in ERROR_TABLE if isinstance(error, rule.ccxt_class)), _UNEXPECTED)


def hint_for(kind: ErrorKind, exchange_id: str) -> str | None:
    if kind is ErrorKind.AUTH:
        prefix = f"ARBITRAGE_EXCHANGES__{exchange_id.upper()}__"
        return f"check {prefix}API_KEY/SECRET (and the key's futures trading permission)"
    if kind is ErrorKind.INSUFFICIENT_FUNDS:
        return "top up or lower --amount/--leverage"
    if kind is ErrorKind.CLOCK:
        return "the local clock is off; sync it (NTP)"
    return None


def classify(
    error: BaseException,
    exchange_id: str,
    operation: str,
    *,
    order: bool = False,
    secrets: Iterable[str] = (),
) -> ExchangeError:
    """The neutral error for `error`. `order=True` for requests that may create an order."""
    if isinstance(error, ExchangeError):
        return error
    rule = rule_for(error)
    reason = clean_reason(error, exchange_id, secrets)
    if rule.kind is ErrorKind.ORDER_NOT_FOUND:
        return OrderNotFound(exchange_id, operation, reason)
    return ExchangeError(
        exchange_id,
        operation,
        reason,
        retryable=rule.retryable,
        outcome_unknown=order and rule.unknown_if_order,
        kind=rule.kind,
        hint=hint_for(rule.kind, exchange_id),
    )


_QUERY = re.compile(r"(https?://[^\s?]+)\?\S*")
_CREDENTIAL_PARAM = re.compile(r"(?i)\b(signature|sign|api_?key|secret)=[^&\s]+")


_BARE_REQUEST = re.compile(r"^(GET|POST|PUT|DELETE) (\S+)$")
_NO_ANSWER = {
    "RequestTimeout": "the request timed out",
    "ExchangeNotAvailable": "the connection was closed or refused",
    "NetworkError": "the connection was closed or refused",
}


def clean_reason(error: BaseException, exchange_id: str, secrets: Iterable[str] = ()) -> str:
    """One line: `<exchange message> (code N)` from a JSON body, else the message without URLs' queries/HTML."""
    text = str(error).strip()
    if text.startswith(exchange_id + " "):
        text = text[len(exchange_id) + 1 :]
    reason = _from_json_body(text)
    if reason is None:
        text = _QUERY.sub(r"\1", text)
        text = text.split("<", 1)[0]  # an HTML error page adds nothing
        reason = " ".join(text.split())
    reason = _CREDENTIAL_PARAM.sub(r"\1=***", reason)
    for secret in secrets:
        if secret:
            reason = reason.replace(secret, "***")
    bare = _BARE_REQUEST.match(reason)
    if bare:  # ccxt says only which request failed (a dropped or refused connection): say what happened
        what = _NO_ANSWER.get(type(error).__name__, "the connection failed")
        reason = f"no answer to {bare[1]} {urlsplit(bare[2]).path}: {what}"
    if not reason:
        reason = type(error).__name__
    if len(reason) > MAX_REASON_LENGTH:
        reason = reason[: MAX_REASON_LENGTH - 1] + "…"
    return reason


def _from_json_body(text: str) -> str | None:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        body = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    message = next((body[key] for key in ("msg", "retMsg", "message", "error") if body.get(key)), None)
    code = next((body[key] for key in ("code", "retCode") if body.get(key) not in (None, "")), None)
    if message is None and code is None:
        return None
    message = " ".join(str(message).split()) if message is not None else "error"
    return f"{message} (code {code})" if code is not None else message
