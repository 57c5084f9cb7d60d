"""The one ccxt → neutral error table, reasons as one clean line, and the BASE_URL override helper."""

from __future__ import annotations

import asyncio

import ccxt.async_support as ccxt
import pytest

from arbitrage.exchanges.connector import ExchangeError, OrderNotFound
from arbitrage.exchanges.errors import classify, clean_reason
from arbitrage.exchanges.urls import original_url_prefixes, override_api_urls, to_original_url

KEY, SECRET = "AbCdEfGhIjKlMnOp1234", "s3cr3t-ZyXwVuTsRqPoNm9876"


@pytest.mark.parametrize(
    ("error", "kind", "retryable", "unknown_if_order"),
    [
        (ccxt.RequestTimeout("t"), "timeout", True, True),
        (ccxt.ExchangeNotAvailable("503"), "unavailable", True, True),
        (ccxt.NetworkError("reset"), "network", True, True),
        (ccxt.BadResponse("garbled"), "exchange_failure", True, True),
        (ccxt.OperationFailed("-1001 internal"), "exchange_failure", True, True),
        (asyncio.TimeoutError(), "timeout", True, True),
        (ConnectionResetError("peer"), "network", True, True),
        (ccxt.OnMaintenance("maintenance"), "maintenance", True, False),
        (ccxt.RateLimitExceeded("slow down"), "rate_limited", True, False),
        (ccxt.DDoSProtection("418"), "rate_limited", True, False),
        (ccxt.InvalidNonce("-1021"), "clock", True, False),
        (ccxt.InsufficientFunds("-2019"), "insufficient_funds", False, False),
        (ccxt.InvalidOrder("-4164"), "invalid_order", False, False),
        (ccxt.DuplicateOrderId("dup"), "invalid_order", False, False),
        (ccxt.BadRequest("-4028"), "bad_request", False, False),
        (ccxt.BadSymbol("-1121"), "unknown_symbol", False, False),
        (ccxt.AuthenticationError("-2015"), "auth", False, False),
        (ccxt.PermissionDenied("10005"), "auth", False, False),
        (ccxt.OrderNotFound("-2013"), "order_not_found", False, False),
        (ccxt.MarginModeAlreadySet("-4046"), "not_modified", False, False),
        (ccxt.NotSupported("no"), "not_supported", False, False),
        (ccxt.ExchangeError("unmapped"), "rejected", False, False),
        (ValueError("parser bug"), "unexpected", False, True),
    ],
)
@pytest.mark.parametrize("order", [False, True])
def test_classification_table(
    error: Exception, kind: str, retryable: bool, unknown_if_order: bool, order: bool
) -> None:
    result = classify(error, "bybit", "create_order" if order else "fetch_balance", order=order)
    assert (result.kind, result.retryable, result.outcome_unknown) == (kind, retryable, order and unknown_if_order)
    assert isinstance(result, OrderNotFound) == (kind == "order_not_found")


@pytest.mark.parametrize(
    ("kind_error", "hint"),
    [
        (ccxt.AuthenticationError("x"), "check ARBITRAGE_EXCHANGES__BINANCEUSDM__API_KEY/SECRET"),
        (ccxt.InsufficientFunds("x"), "top up or lower --amount/--leverage"),
    ],
)
def test_hints_name_the_fix(kind_error: Exception, hint: str) -> None:
    assert hint in (classify(kind_error, "binanceusdm", "create_order").hint or "")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}', "Margin is insufficient. (code -2019)"),
        (
            'bybit {"retCode":110043,"retMsg":"leverage not modified","result":{},"time":1}',
            "leverage not modified (code 110043)",
        ),
        ('mexc {"success":false,"code":2005,"message":"Balance insufficient"}', "Balance insufficient (code 2005)"),
        (
            "bingx GET http://127.0.0.1:1/bingx/openApi/swap/v3/user/balance?timestamp=1&signature=abc 503 "
            "Service Unavailable <html><body>\n<h1>503</h1></body></html>",
            "GET http://127.0.0.1:1/bingx/openApi/swap/v3/user/balance 503 Service Unavailable",
        ),
        (f"binanceusdm POST x?apiKey={KEY}&signature=deadbeef failed", "POST x?apiKey=***&signature=*** failed"),
        (f"bybit secret {SECRET} echoed", "secret *** echoed"),
    ],
)
def test_reason_is_one_clean_line_without_secrets(message: str, reason: str) -> None:
    exchange_id = message.split(" ", 1)[0]
    assert clean_reason(ccxt.ExchangeError(message), exchange_id, [KEY, SECRET]) == reason


def test_long_reasons_are_cut() -> None:
    assert len(clean_reason(ccxt.ExchangeError("bybit " + "x" * 5000), "bybit")) == 200


def test_no_secret_in_any_classified_message() -> None:
    raw = ccxt.AuthenticationError(f'bybit {{"retCode":10003,"retMsg":"API key {KEY} is invalid; secret {SECRET}"}}')
    error = classify(raw, "bybit", "fetch_balance", secrets=[KEY, SECRET])
    assert isinstance(error, ExchangeError)
    for text in (str(error), error.reason, error.user_message, repr(error)):
        assert KEY not in text and SECRET not in text


@pytest.mark.parametrize(
    ("api", "base", "expected"),
    [
        (
            {"public": "https://api.{hostname}", "private": "https://api.{hostname}"},
            "http://127.0.0.1:9/bybit/",
            {"public": "http://127.0.0.1:9/bybit", "private": "http://127.0.0.1:9/bybit"},
        ),
        (
            {"contract": {"public": "https://api.mexc.com/api/v1/contract"}, "spot": {"public": "https://api.mexc.com"}},
            "http://h:1/mexc",
            {"contract": {"public": "http://h:1/mexc/api/v1/contract"}, "spot": {"public": "http://h:1/mexc"}},
        ),
        ({"fapiPublic": "https://fapi.binance.com/fapi/v1"}, "https://proxy", {"fapiPublic": "https://proxy/fapi/v1"}),
    ],
)
def test_override_api_urls_keeps_paths(api: dict, base: str, expected: dict) -> None:  # type: ignore[type-arg]
    assert override_api_urls(api, base) == expected


def test_overridden_url_maps_back_to_production() -> None:
    original = {"fapiPublic": "https://fapi.binance.com/fapi/v1", "sapi": "https://api.binance.com/sapi/v1"}
    overridden = override_api_urls(original, "http://127.0.0.1:5/binanceusdm")
    prefixes = original_url_prefixes(original, overridden)
    assert to_original_url("http://127.0.0.1:5/binanceusdm/fapi/v1/order", prefixes) == (
        "https://fapi.binance.com/fapi/v1/order"
    )
    assert to_original_url("http://elsewhere/x", prefixes) == "http://elsewhere/x"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ccxt.ExchangeNotAvailable("bybit POST http://127.0.0.1:9/bybit/v5/order/create"),
         "no answer to POST /bybit/v5/order/create: the connection was closed or refused"),
        (ccxt.RequestTimeout("mexc GET http://127.0.0.1:9/mexc/api/v1/private/order/get/7?symbol=BTC_USDT"),
         "no answer to GET /mexc/api/v1/private/order/get/7: the request timed out"),
    ],
)
def test_a_request_that_got_no_answer_says_so(error, reason):
    assert clean_reason(error, error.args[0].split()[0]) == reason
