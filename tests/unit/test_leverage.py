from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrage.domain import EXCHANGE_IDS
from arbitrage.domain.errors import LeverageError, ValidationError
from arbitrage.domain.leverage import (
    DEFAULT_MAX_LEVERAGE,
    LeverageRequest,
    LeverageTier,
    default_max_leverage,
    max_leverage_for_notional,
    parse_leverage,
    resolve_leverage,
    single_tier,
)

D = Decimal


def tier(floor: str, cap: str | None, max_leverage: int) -> LeverageTier:
    return LeverageTier(D(floor), None if cap is None else D(cap), max_leverage)


# Binance BTCUSDT-like brackets (bounded last tier) and Bybit risk-limit-like tiers (floor = previous cap).
BINANCE = (
    tier("0", "50000", 125),
    tier("50000", "600000", 100),
    tier("600000", "3000000", 75),
    tier("3000000", "12000000", 50),
)
BYBIT_UNSORTED = (
    tier("4000000", "6000000", 80),
    tier("0", "2000000", 100),
    tier("2000000", "4000000", 90),
)
WITH_GAP = (tier("0", "10000", 50), tier("10001", None, 20))


@pytest.mark.parametrize(
    ("tiers", "notional", "expected"),
    [
        (BINANCE, "0", 125),
        (BINANCE, "49999.99", 125),
        (BINANCE, "50000", 100),  # exactly at a cap: the next tier
        (BINANCE, "599999", 100),
        (BINANCE, "600000", 75),
        (BINANCE, "11999999.9", 50),
        (BYBIT_UNSORTED, "1", 100),
        (BYBIT_UNSORTED, "2000000", 90),
        (BYBIT_UNSORTED, "5999999", 80),
        (single_tier(125), "0", 125),
        (single_tier(50), "1000000000", 50),
        ((tier("100", "1000", 20),), "5", 20),  # below the first floor: first tier
        (WITH_GAP, "10000.5", 20),  # in a gap: the next, more restrictive tier
    ],
    ids=["zero", "just-below-cap", "exactly-at-cap", "second-tier", "third-floor", "last-tier", "bybit-first",
         "bybit-floor", "bybit-last", "bingx-single", "mexc-single-huge", "below-first-floor", "gap"],
)
def test_max_leverage_for_notional(tiers: tuple[LeverageTier, ...], notional: str, expected: int) -> None:
    assert max_leverage_for_notional(tiers, D(notional), exchange="binanceusdm") == expected


@pytest.mark.parametrize(
    ("tiers", "notional", "fragments"),
    [
        (BINANCE, "12000000",
         ["position notional 12000000 exceeds the largest tier (cap 12000000) for BTC/USDT:USDT on binanceusdm",
          "lower --amount"]),
        (BYBIT_UNSORTED, "7000000", ["exceeds the largest tier (cap 6000000)"]),
        ((), "1", ["no leverage tiers known for BTC/USDT:USDT on binanceusdm"]),
        ((tier("0", "100", 10), tier("50", "200", 5)), "1", ["overlap"]),
        ((tier("0", None, 10), tier("50", "200", 5)), "1", ["overlap"]),
        (BINANCE, "-1", ["must be a Decimal >= 0"]),
    ],
    ids=["at-last-cap", "above-last-cap-unsorted", "empty", "overlap", "unbounded-not-last", "negative-notional"],
)
def test_max_leverage_for_notional_rejects(
    tiers: tuple[LeverageTier, ...], notional: str, fragments: list[str]
) -> None:
    with pytest.raises(LeverageError) as caught:
        max_leverage_for_notional(tiers, D(notional), exchange="binanceusdm", symbol="BTC/USDT:USDT")
    for fragment in fragments:
        assert fragment in caught.value.user_message


@pytest.mark.parametrize(
    ("floor", "cap", "max_leverage"),
    [(D("-1"), None, 10), (D("10"), D("10"), 10), (D("10"), D("5"), 10), (D("0"), None, 0), (D("0"), None, True)],
    ids=["negative-floor", "empty-range", "cap-below-floor", "zero-leverage", "bool-leverage"],
)
def test_leverage_tier_validates(floor: Decimal, cap: Decimal | None, max_leverage: int) -> None:
    with pytest.raises(LeverageError):
        LeverageTier(floor, cap, max_leverage)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("3", 3),
        (" 10 ", 10),
        ("1", 1),
        ("125", 125),
        ("20x", 20),
        ("20X", 20),
        (7, 7),
        ("max", "max"),
        ("MAX", "max"),
        (" Max ", "max"),
    ],
    ids=["none", "int-text", "spaces", "lowest", "highest", "x-suffix", "X-suffix", "int", "max", "MAX", "Max-spaces"],
)
def test_parse_leverage_accepts(text: str | int | None, expected: LeverageRequest | None) -> None:
    assert parse_leverage(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0", "out of range"),
        ("126", "out of range"),
        (0, "out of range"),
        (-3, "out of range"),
        ("-3", "not valid"),
        ("3.5", "not valid"),
        ("", "not valid"),
        ("maximum", "not valid"),
        ("x", "not valid"),
        (True, "not valid"),
        (3.0, "not valid"),
        ("٣", "not valid"),  # non-ASCII digit
    ],
    ids=["zero", "above-125", "int-zero", "int-negative", "negative-text", "fraction", "empty", "maximum", "bare-x",
         "bool", "float", "arabic-digit"],
)
def test_parse_leverage_rejects(text: object, fragment: str) -> None:
    with pytest.raises(LeverageError) as caught:
        parse_leverage(text)  # type: ignore[arg-type]
    assert fragment in caught.value.user_message
    assert "1..125" in caught.value.user_message
    assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize(
    ("requested", "default", "primary_max", "hedge_max", "expected"),
    [
        (None, 3, 125, 100, (3, 3, False, None, None)),
        (10, 3, 125, 100, (10, 10, False, None, None)),
        (25, 3, 125, 25, (25, 25, False, None, None)),  # exactly at the cap is not capped
        (50, 3, 125, 25, (50, 25, True, "bybit", "leverage capped from 50 to 25 (limit on bybit)")),
        (50, 3, 20, 25, (50, 20, True, "binanceusdm", "leverage capped from 50 to 20 (limit on binanceusdm)")),
        (None, 10, 5, 100, (10, 5, True, "binanceusdm", "leverage capped from 10 to 5 (limit on binanceusdm)")),
        (80, 3, 50, 50, (80, 50, True, "binanceusdm and bybit",
                         "leverage capped from 80 to 50 (limit on binanceusdm and bybit)")),
        ("max", 3, 125, 100, ("max", 100, False, "bybit", "leverage 'max' resolved to 100 (limit on bybit)")),
        ("max", 3, 20, 100, ("max", 20, False, "binanceusdm", "leverage 'max' resolved to 20 (limit on binanceusdm)")),
        (None, "max", 75, 100, ("max", 75, False, "binanceusdm",
                                "leverage 'max' resolved to 75 (limit on binanceusdm)")),
        (1, 3, 1, 1, (1, 1, False, None, None)),
    ],
    ids=["default-used", "request-wins-over-default", "at-cap", "hedge-caps", "primary-caps", "default-capped",
         "both-limit", "max-hedge-limits", "max-primary-limits", "default-max", "minimum"],
)
def test_resolve_leverage(
    requested: LeverageRequest | None,
    default: LeverageRequest,
    primary_max: int,
    hedge_max: int,
    expected: tuple[LeverageRequest, int, bool, str | None, str | None],
) -> None:
    resolution = resolve_leverage(requested, default, primary_max, hedge_max, "binanceusdm", "bybit")
    assert (
        resolution.requested,
        resolution.applied,
        resolution.capped,
        resolution.limiting_exchange,
        resolution.reason,
    ) == expected


@pytest.mark.parametrize(
    ("requested", "default", "primary_max", "hedge_max", "fragment"),
    [
        (200, 3, 125, 100, "out of range"),
        (None, 0, 125, 100, "out of range"),
        (3, 3, 0, 100, "reported by binanceusdm"),
        (3, 3, 125, 0, "reported by bybit"),
    ],
    ids=["request-out-of-range", "default-out-of-range", "primary-max-zero", "hedge-max-zero"],
)
def test_resolve_leverage_rejects(
    requested: LeverageRequest | None, default: LeverageRequest, primary_max: int, hedge_max: int, fragment: str
) -> None:
    with pytest.raises(LeverageError) as caught:
        resolve_leverage(requested, default, primary_max, hedge_max, "binanceusdm", "bybit")
    assert fragment in caught.value.user_message


@pytest.mark.parametrize(
    ("exchange", "expected"),
    [("binanceusdm", 125), ("bybit", 100), ("bingx", 125), ("mexc", 50)],
)
def test_default_max_leverage(exchange: str, expected: int) -> None:
    assert default_max_leverage(exchange) == expected
    assert DEFAULT_MAX_LEVERAGE[exchange] == expected


def test_default_max_leverage_unknown_exchange() -> None:
    with pytest.raises(LeverageError) as caught:
        default_max_leverage("kraken")
    assert "'kraken'" in caught.value.user_message and "binanceusdm" in caught.value.user_message


def test_every_exchange_has_a_default_max_leverage() -> None:
    assert set(DEFAULT_MAX_LEVERAGE) == set(EXCHANGE_IDS)
