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

from arbitrage.exchanges.connector import ExchangeError, OrderNotFound

MAX_REASON_LENGTH = 200


@dataclass(frozen=True)
class ErrorRule:
    ccxt_class: type[BaseException]
    kind: str
    retryable: bool
    # True where an ORDER request may have been executed although we got no answer: look it up by client id.
    unknown_if_order: bool = False


# First match wins: subclasses before their bases (ccxt 4.5.90 hierarchy, wire spec §1.5).
ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(ccxt.OrderNotFound, "order_not_found", retryable=False),
    ErrorRule(ccxt.InsufficientFunds, "insufficient_funds", retryable=False),
    ErrorRule(ccxt.AuthenticationError, "auth", retryable=False),  # PermissionDenied, AccountSuspended
    ErrorRule(ccxt.BadSymbol, "unknown_symbol", retryable=False),
    ErrorRule(ccxt.InvalidOrder, "invalid_order", retryable=False),  # DuplicateOrderId, OrderNotFillable
    ErrorRule(ccxt.NoChange, "not_modified", retryable=False),  # MarginModeAlreadySet
    ErrorRule(ccxt.NotSupported, "not_supported", retryable=False),
    ErrorRule(ccxt.ArgumentsRequired, "bad_request", retryable=False),
    ErrorRule(ccxt.BadRequest, "bad_request", retryable=False),
    # The exchange answered: the request was refused, so an order was NOT executed.
    ErrorRule(ccxt.OnMaintenance, "maintenance", retryable=True),
    ErrorRule(ccxt.RateLimitExceeded, "rate_limited", retryable=True),
    ErrorRule(ccxt.DDoSProtection, "rate_limited", retryable=True),
    ErrorRule(ccxt.InvalidNonce, "clock", retryable=True),
    # No (usable) answer: an order may or may not have been executed.
    ErrorRule(ccxt.RequestTimeout, "timeout", retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.ExchangeNotAvailable, "unavailable", retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.NetworkError, "network", retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.OperationFailed, "exchange_failure", retryable=True, unknown_if_order=True),
    ErrorRule(ccxt.ExchangeError, "rejected", retryable=False),
    # Transport errors that escaped ccxt's own wrapping.
    ErrorRule(asyncio.TimeoutError, "timeout", retryable=True, unknown_if_order=True),
    ErrorRule(aiohttp.ClientError, "network", retryable=True, unknown_if_order=True),
    ErrorRule(OSError, "network", retryable=True, unknown_if_order=True),
)
_UNEXPECTED = ErrorRule(Exception, "unexpected", retryable=False, unknown_if_order=True)


def rule_for(error: BaseException) -> ErrorRule:
    return next((rule for rule in ERROR_TABLE if isinstance(error, rule.ccxt_class)), _UNEXPECTED)


def hint_for(kind: str, exchange_id: str) -> str | None:
    if kind == "auth":
        prefix = f"ARBITRAGE_EXCHANGES__{exchange_id.upper()}__"
        return f"check {prefix}API_KEY/SECRET (and the key's futures trading permission)"
    if kind == "insufficient_funds":
        return "top up or lower --amount/--leverage"
    if kind == "clock":
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
    if rule.kind == "order_not_found":
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
