"""`arbitrage subscribe` validation: one row per rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbitrage.cli.validation import SubscribeInput, validate_subscribe
from arbitrage.domain import Side
from arbitrage.domain.subscription_request import InputError

NOW = datetime(2030, 1, 1, 7, 0, tzinfo=UTC)
FUNDING = "2030-01-01T08:00:00Z"
MIN_LEAD = {"binanceusdm": 0, "bybit": 0, "bingx": 30, "mexc": 0}
VALID = SubscribeInput(
    primary="bybit", hedge="binanceusdm", side="short", amount="0.01", symbol="BTC/USDT:USDT", funding_time=FUNDING
)


def _validate(raw: SubscribeInput, resolve=None):  # type: ignore[no-untyped-def]
    extra = {"resolve_funding_time": resolve} if resolve else {}
    return validate_subscribe(raw, now=NOW, default_lead_seconds=5, min_lead_seconds=MIN_LEAD, **extra)


def test_valid_input() -> None:
    result = _validate(VALID)
    assert (result.primary_exchange, result.hedge_exchange) == ("bybit", "binanceusdm")
    assert (result.primary_symbol, result.hedge_symbol) == ("BTC/USDT:USDT", "BTC/USDT:USDT")
    assert result.side is Side.SHORT
    assert result.amount == Decimal("0.01")
    assert result.leverage is None
    assert result.funding_time == datetime(2030, 1, 1, 8, tzinfo=UTC)
    assert result.lead_seconds == 5


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"hedge": "Binance"}, "hedge_exchange", "binanceusdm"),  # alias, any case
        ({"hedge": "MEXC"}, "hedge_exchange", "mexc"),
        ({"side": "LoNg"}, "side", Side.LONG),
        ({"amount": "1e-3"}, "amount", Decimal("0.001")),
        ({"leverage": "125"}, "leverage", 125),
        ({"leverage": "1"}, "leverage", 1),
        ({"leverage": "MAX"}, "leverage", "max"),
        ({"symbol": "eth/usdt:usdt"}, "primary_symbol", "ETH/USDT:USDT"),
        ({"symbol": "1000pepe/usdt:usdt"}, "hedge_symbol", "1000PEPE/USDT:USDT"),
        ({"symbol": None, "primary_symbol": "A/USDT:USDT", "hedge_symbol": "a/usdt:usdt"}, "hedge_symbol",
         "A/USDT:USDT"),
        ({"amount": "1000000000"}, "amount", Decimal("1000000000")),
        ({"amount": "1e-18"}, "amount", Decimal("1e-18")),
        ({"funding_time": "2030-01-01T11:00:00+03:00"}, "funding_time", datetime(2030, 1, 1, 8, tzinfo=UTC)),
        ({"lead_seconds": "0"}, "lead_seconds", 0),
        ({"lead_seconds": "120"}, "lead_seconds", 120),
        ({"primary": "bingx"}, "lead_seconds", 30),  # default lead raised to BingX's minimum
        ({"primary": "bingx", "lead_seconds": "45"}, "lead_seconds", 45),
        ({"hedge": "bingx"}, "lead_seconds", 5),  # the minimum is about the leg that collects funding
    ],
)
def test_accepted_values(changes: dict[str, object], field: str, expected: object) -> None:
    assert getattr(_validate(replace(VALID, **changes)), field) == expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"primary": "kraken"}, "--primary: unknown exchange 'kraken' (choose from binanceusdm, bybit, bingx, mexc)"),
        ({"hedge": "ftx"}, "--hedge: unknown exchange 'ftx'"),
        ({"hedge": "bybit"}, "--hedge: must differ from --primary (both are bybit)"),
        ({"primary": "binance"}, "--hedge: must differ from --primary (both are binanceusdm)"),
        ({"side": "up"}, "--side: must be long or short, not 'up'"),
        ({"amount": "abc"}, "--amount: must be a number"),
        ({"amount": "0"}, "--amount: must be greater than 0"),
        ({"amount": "-1"}, "--amount: must be greater than 0"),
        ({"amount": "NaN"}, "--amount: must be greater than 0"),
        ({"amount": "Infinity"}, "--amount: must be greater than 0"),
        ({"leverage": "0"}, "--leverage: must be a whole number from 1 to 125 or 'max', not '0'"),
        ({"leverage": "126"}, "--leverage: must be a whole number from 1 to 125"),
        ({"leverage": "2.5"}, "--leverage: must be a whole number from 1 to 125"),
        ({"symbol": "BTCUSDT"}, "--symbol: 'BTCUSDT' is not a unified perpetual symbol"),
        ({"symbol": "BTC/USDT"}, "--symbol: 'BTC/USDT' is not a unified perpetual symbol"),  # spot
        ({"symbol": "BTC/USDT:USDT-261225"}, "--symbol: 'BTC/USDT:USDT-261225' is not a unified perpetual"),  # dated
        ({"symbol": "BTC/USD:BTC"}, "--symbol: 'BTC/USD:BTC' is not linear"),  # inverse
        ({"symbol": None}, "--symbol: required"),
        ({"symbol": None, "primary_symbol": "BTC/USDT:USDT"}, "--symbol: required"),
        ({"hedge_symbol": "nope"}, "--hedge-symbol: 'nope' is not a unified perpetual symbol"),
        ({"hedge_symbol": "ETH/USDT:USDT"}, "--hedge-symbol: ETH/USDT:USDT is not the same coin as BTC/USDT:USDT"),
        ({"symbol": None, "primary_symbol": "A/USDT:USDT", "hedge_symbol": "B/USDT:USDT"},
         "--hedge-symbol: B/USDT:USDT is not the same coin as A/USDT:USDT (B vs A)"),
        ({"symbol": "PEPE/USDT:USDT", "hedge_symbol": "1000PEPE/USDT:USDT"},
         "--hedge-symbol: 1000PEPE/USDT:USDT counts 1000 PEPE per unit and PEPE/USDT:USDT 1"),
        ({"symbol": "SHIB1000/USDT:USDT", "hedge_symbol": "1000SHIB/USDT:USDT"}, None),
        ({"primary_symbol": "BTC/USDC:USDC"}, "--primary-symbol: BTC/USDC:USDC settles in USDC; only USDT-margined"),
        ({"amount": "1e27"}, "--amount: '1e27' is far larger than any exchange accepts (at most 1,000,000,000)"),
        ({"amount": "1e400"}, "--amount: '1e400' is far larger"),
        ({"amount": "1e-19"}, "--amount: '1e-19' has more than 18 decimal places"),
        ({"funding_time": "tomorrow"}, "--funding-time: 'tomorrow' is not an ISO-8601 time"),
        ({"funding_time": "2030-01-01T08:00:00"}, "--funding-time: '2030-01-01T08:00:00' has no UTC offset"),
        ({"funding_time": "2029-12-31T08:00:00Z"}, "is not in the future"),
        ({"funding_time": "2030-01-01T07:00:03Z"}, "is too close: positions open 5 s before it"),
        ({"funding_time": None}, "--funding-time: required"),
        ({"lead_seconds": "-1"}, "--lead-seconds: must be a whole number of seconds >= 0, not '-1'"),
        ({"lead_seconds": "soon"}, "--lead-seconds: must be a whole number of seconds >= 0"),
        ({"primary": "bingx", "lead_seconds": "5"}, "--lead-seconds: bingx needs at least 30 s before funding"),
    ],
)
def test_rejected_values(changes: dict[str, object], message: str | None) -> None:
    if message is None:  # the same coin and multiplier, written two ways: accepted
        assert _validate(replace(VALID, **changes)).hedge_symbol == changes["hedge_symbol"]
        return
    with pytest.raises(InputError) as raised:
        _validate(replace(VALID, **changes))
    assert message in str(raised.value)


def test_funding_time_can_come_from_a_resolver() -> None:
    next_funding = NOW + timedelta(hours=2)
    asked: list[tuple[str, str]] = []

    def resolve(exchange: str, symbol: str) -> datetime:
        asked.append((exchange, symbol))
        return next_funding

    result = _validate(replace(VALID, funding_time=None), resolve)
    assert result.funding_time == next_funding
    assert asked == [("bybit", "BTC/USDT:USDT")]
