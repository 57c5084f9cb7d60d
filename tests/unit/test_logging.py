from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from arbitrage.logging import (
    bind_subscription,
    clear_registered_secrets,
    configure_logging,
    get_logger,
    redact_text,
    register_secrets,
    reset_logging,
)

API_KEY = "AK-7f3b9c2e4d5a6b1c"
SECRET = "SK-9e8d7c6b5a4f3e2d1c0b"
SIGNATURE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream)
    register_secrets([API_KEY, SECRET])
    yield stream
    clear_registered_secrets()
    reset_logging()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    "fields",
    [
        {"api_key": API_KEY},
        {"apiKey": API_KEY},
        {"secret": SECRET},
        {"password": SECRET},
        {"signature": SIGNATURE},
        {"sign": SIGNATURE},
        {"headers": {"X-MBX-APIKEY": API_KEY}},
        {"headers": {"X-BAPI-API-KEY": API_KEY, "X-BAPI-SIGN": SIGNATURE}},
        {"headers": {"X-BX-APIKEY": API_KEY}},
        {"headers": {"ApiKey": API_KEY, "Signature": SIGNATURE}},
        {"nested": [{"config": {"secret": SECRET}}]},
        {"url": f"https://fapi.binance.com/fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature={SIGNATURE}"},
        {"url": f"https://open-api.bingx.com/openApi/swap/v2/trade/order?timestamp=1&signature={SIGNATURE}&x=1"},
        {"body": f'{{"api_key":"{API_KEY}","sign":"{SIGNATURE}"}}'},
        {"request_headers": f"{{'X-MBX-APIKEY': '{API_KEY}'}}"},
        {"note": f"the key {API_KEY} in free text"},
        {"error": ValueError(f"request failed with secret {SECRET} inside")},
    ],
)
def test_secrets_are_redacted_from_json_output(output: io.StringIO, fields: dict[str, object]) -> None:
    get_logger("test").info("request_sent", **fields)
    text = output.getvalue()
    assert "request_sent" in text
    for value in (API_KEY, SECRET, SIGNATURE):
        assert value not in text
    assert "***" in text


def test_secret_in_event_name_and_traceback_is_redacted(output: io.StringIO) -> None:
    log = get_logger("test")
    try:
        raise RuntimeError(f"auth failed for {API_KEY}")
    except RuntimeError:
        log.exception(f"failed with {SECRET}")
    text = output.getvalue()
    assert API_KEY not in text and SECRET not in text
    assert "RuntimeError: auth failed for ***" in _lines(output)[0]["exception"]  # type: ignore[operator]


def test_stdlib_loggers_go_through_the_same_pipeline(output: io.StringIO) -> None:
    logging.getLogger("ccxt.base.exchange").warning("GET %s", f"https://api.bybit.com/v5?sign={SIGNATURE}")
    logging.getLogger("aiohttp.client").warning("key %s", API_KEY)
    lines = _lines(output)
    assert [line["logger"] for line in lines] == ["ccxt.base.exchange", "aiohttp.client"]
    assert all(line["level"] == "warning" and "timestamp" in line for line in lines)
    assert SIGNATURE not in output.getvalue() and API_KEY not in output.getvalue()


def test_sqlalchemy_statements_are_not_logged_at_info(output: io.StringIO) -> None:
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")
    assert output.getvalue() == ""


def test_ordinary_values_are_untouched(output: io.StringIO) -> None:
    get_logger("test").info("order_filled", exchange="bybit", amount="0.01", symbol="BTC/USDT:USDT", design="x")
    line = _lines(output)[0]
    assert (line["exchange"], line["amount"], line["symbol"], line["design"]) == ("bybit", "0.01", "BTC/USDT:USDT", "x")


def test_short_values_are_not_registered() -> None:
    register_secrets(["abc", None, ""])
    try:
        assert redact_text("abc is a word") == "abc is a word"
    finally:
        clear_registered_secrets()


def test_bind_subscription_adds_id_to_every_line_in_its_task(output: io.StringIO) -> None:
    log = get_logger("test")

    async def job(subscription_id: int) -> None:
        with bind_subscription(subscription_id):
            await asyncio.sleep(0)
            log.info("step", n=subscription_id)
            logging.getLogger("ccxt").warning("library line %s", subscription_id)

    async def both() -> None:
        await asyncio.gather(job(1), job(2))

    asyncio.run(both())
    log.info("outside")
    lines = _lines(output)
    by_event = [(line["event"], line.get("subscription_id")) for line in lines]
    assert sorted(by_event[:4], key=str) == sorted(
        [("step", 1), ("step", 2), ("library line 1", 1), ("library line 2", 2)], key=str
    )
    assert by_event[4] == ("outside", None)


def test_console_format_is_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging("console", "INFO", stream)
    register_secrets([SECRET])
    try:
        get_logger("test").info("hello", secret=SECRET, note=f"x {SECRET} y")
        text = stream.getvalue()
        assert "hello" in text and SECRET not in text
    finally:
        clear_registered_secrets()
        reset_logging()
