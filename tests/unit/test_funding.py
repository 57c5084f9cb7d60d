from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from arbitrage.domain import EXCHANGE_IDS, Side
from arbitrage.domain.errors import ValidationError
from arbitrage.domain.funding import (
    FUNDING_AMOUNT_SIGN,
    ClosedLeg,
    effective_lead_seconds,
    entry_deadline,
    expected_funding,
    funding_favours_side,
    leg_price_pnl,
    next_funding_time,
    normalize_funding_amount,
    realized_pnl,
    opened_too_late,
    should_skip_missed,
    side_receipt_rate,
    trigger_time,
)

D = Decimal


def utc(hour: int, minute: int = 0, second: int = 0, micro: int = 0, day: int = 15) -> datetime:
    return datetime(2024, 3, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "interval", "anchor", "expected"),
    [
        (utc(0), 8, 0, utc(8)),  # exactly on a boundary: the next one
        (utc(0, 0, 0, 1), 8, 0, utc(8)),
        (utc(7, 59, 59, 999999), 8, 0, utc(8)),
        (utc(8), 8, 0, utc(16)),
        (utc(15, 30), 8, 0, utc(16)),
        (utc(16), 8, 0, utc(0, day=16)),
        (utc(23, 59, 59), 8, 0, utc(0, day=16)),
        (utc(3, 59, 59), 4, 0, utc(4)),
        (utc(4), 4, 0, utc(8)),
        (utc(20, 0, 1), 4, 0, utc(0, day=16)),
        (utc(10, 0), 1, 0, utc(11)),
        (utc(10, 0, 0, 1), 1, 0, utc(11)),
        (utc(23, 30), 1, 0, utc(0, day=16)),
        (utc(1), 8, 4, utc(4)),  # 04/12/20 grid
        (utc(21), 8, 4, utc(4, day=16)),
        (datetime(2024, 3, 15, 9, 30, tzinfo=timezone(timedelta(hours=2))), 8, 0, utc(8)),  # 07:30 UTC
        (datetime(2024, 12, 31, 23, 0, tzinfo=UTC), 8, 0, datetime(2025, 1, 1, tzinfo=UTC)),
    ],
    ids=["8h-on-midnight", "8h-just-after", "8h-just-before", "8h-on-08", "8h-mid", "8h-on-16", "8h-day-roll",
         "4h-just-before", "4h-on-boundary", "4h-day-roll", "1h-on-boundary", "1h-just-after", "1h-day-roll",
         "8h-anchor-4", "8h-anchor-4-roll", "non-utc-input", "year-roll"],
)
def test_next_funding_time(now: datetime, interval: int, anchor: int, expected: datetime) -> None:
    result = next_funding_time(now, interval, anchor)
    assert result == expected
    assert result.tzinfo == UTC


@pytest.mark.parametrize(
    ("now", "interval", "anchor"),
    [(datetime(2024, 3, 15, 1), 8, 0), (utc(1), 0, 0), (utc(1), 25, 0), (utc(1), 8, 24), (utc(1), 8, -1)],
    ids=["naive", "zero-interval", "interval-over-a-day", "anchor-24", "anchor-negative"],
)
def test_next_funding_time_rejects(now: datetime, interval: int, anchor: int) -> None:
    with pytest.raises(ValidationError):
        next_funding_time(now, interval, anchor)


@pytest.mark.parametrize(
    ("subscription", "default", "exchange_mins", "expected"),
    [
        (None, 5.0, [], 5.0),
        (None, 5.0, [0.0, 30.0], 30.0),  # BingX needs 30 s
        (10.0, 5.0, [0.0, 0.0], 10.0),
        (2.0, 5.0, [0.0], 5.0),  # the default is a floor
        (60.0, 5.0, [30.0, 2.0], 60.0),
        (0.0, 0.0, [], 0.0),
    ],
    ids=["default-only", "exchange-min-wins", "subscription-wins", "default-floor", "subscription-over-bingx",
         "all-zero"],
)
def test_effective_lead_seconds(
    subscription: float | None, default: float, exchange_mins: list[float], expected: float
) -> None:
    assert effective_lead_seconds(subscription, default, exchange_mins) == expected


@pytest.mark.parametrize(
    ("subscription", "default", "exchange_mins"),
    [(-1.0, 5.0, []), (None, float("nan"), []), (None, 5.0, [float("inf")]), (None, 5.0, [-0.5])],
    ids=["negative-subscription", "nan-default", "infinite-exchange", "negative-exchange"],
)
def test_effective_lead_seconds_rejects(subscription: float | None, default: float, exchange_mins: list[float]) -> None:
    with pytest.raises(ValidationError):
        effective_lead_seconds(subscription, default, exchange_mins)


@pytest.mark.parametrize(
    ("lead", "expected"),
    [(5.0, utc(7, 59, 55)), (30.0, utc(7, 59, 30)), (0.25, utc(7, 59, 59, 750000)), (0.0, utc(8))],
    ids=["5s", "30s", "fractional", "zero"],
)
def test_trigger_time(lead: float, expected: datetime) -> None:
    assert trigger_time(utc(8), lead) == expected


@pytest.mark.parametrize(
    ("exchange_mins", "margin", "expected"),
    [
        ([], 1.0, utc(7, 59, 59)),
        ([0.0, 30.0], 1.0, utc(7, 59, 30)),
        ([0.5], 1.0, utc(7, 59, 59)),
        ([], 0.0, utc(8)),
    ],
    ids=["margin-only", "bingx-min", "margin-beats-small-min", "no-margin"],
)
def test_entry_deadline(exchange_mins: list[float], margin: float, expected: datetime) -> None:
    assert entry_deadline(utc(8), exchange_mins, margin) == expected


@pytest.mark.parametrize(
    ("now", "exchange_mins", "skip"),
    [
        (utc(7, 59, 55), [], False),  # on time
        (utc(7, 59, 58), [], False),  # late trigger but before the deadline: still runs
        (utc(7, 59, 58, 999999), [], False),
        (utc(7, 59, 59), [], True),  # exactly at the deadline: never trade late
        (utc(8), [], True),
        (utc(9), [], True),
        (utc(7, 59, 29, 999999), [30.0], False),
        (utc(7, 59, 30), [30.0], True),  # BingX's minimum lead decides
        (utc(7, 59, 40), [0.0, 30.0], True),
        (utc(7, 0), [0.0, 30.0], False),
    ],
    ids=["on-time", "late-but-ok", "microsecond-before-deadline", "at-deadline", "at-funding", "after-funding",
         "before-bingx-deadline", "at-bingx-deadline", "after-bingx-deadline", "long-before"],
)
def test_should_skip_missed(now: datetime, exchange_mins: list[float], skip: bool) -> None:
    assert should_skip_missed(now, utc(8), exchange_mins) is skip


@pytest.mark.parametrize(
    ("executed_at", "min_lead", "late"),
    [
        (utc(7, 59, 58), 0, False),  # before the funding instant: earns it
        (utc(7, 59, 59, 999999), 0, False),
        (utc(8), 0, True),  # at the instant: the snapshot does not include it
        (utc(8, 0, 2), 0, True),
        (utc(7, 59, 29, 999999), 30, False),  # BingX: just outside its last 30 s
        (utc(7, 59, 30), 30, True),  # BingX does not count positions opened in the last 30 s
    ],
)
def test_opened_too_late(executed_at: datetime, min_lead: float, late: bool) -> None:
    assert opened_too_late(executed_at, utc(8), min_lead) is late


def test_should_skip_missed_rejects_naive_now() -> None:
    with pytest.raises(ValidationError):
        should_skip_missed(datetime(2024, 3, 15, 7), utc(8))


@pytest.mark.parametrize(
    ("rate", "side", "min_rate", "proceed"),
    [
        ("0.0001", Side.SHORT, "0", True),  # positive rate: longs pay, shorts receive
        ("0.0001", Side.LONG, "0", False),
        ("-0.0001", Side.LONG, "0", True),
        ("-0.0001", Side.SHORT, "0", False),
        ("0", Side.SHORT, "0", False),  # zero pays nothing
        ("0", Side.LONG, "0", False),
        ("0.0001", Side.SHORT, "0.0001", True),  # exactly the minimum
        ("0.00009", Side.SHORT, "0.0001", False),
        ("-0.0002", Side.LONG, "0.0001", True),
        ("-0.00005", Side.LONG, "0.0001", False),
        ("-0.0002", Side.SHORT, "0.0001", False),
        ("0.0001", "short", "0", True),  # case-insensitive side
    ],
    ids=["pos-short", "pos-long", "neg-long", "neg-short", "zero-short", "zero-long", "short-at-min",
         "short-below-min", "long-above-min", "long-below-min", "wrong-side-large", "lower-case-side"],
)
def test_funding_favours_side(rate: str, side: Side, min_rate: str, proceed: bool) -> None:
    assert funding_favours_side(D(rate), side, D(min_rate)) is proceed


@pytest.mark.parametrize(
    ("rate", "side", "min_rate"),
    [("0.0001", Side.SHORT, "-0.001"), ("0.0001", "BUY", "0"), ("NaN", Side.SHORT, "0")],
    ids=["negative-min-rate", "bad-side", "nan-rate"],
)
def test_funding_favours_side_rejects(rate: str, side: Side, min_rate: str) -> None:
    with pytest.raises(ValidationError):
        funding_favours_side(D(rate), side, D(min_rate))


@pytest.mark.parametrize(
    ("side", "amount", "price", "rate", "expected"),
    [
        (Side.SHORT, "0.01", "50000", "0.0001", "0.05"),
        (Side.LONG, "0.01", "50000", "0.0001", "-0.05"),
        (Side.LONG, "2", "3000", "-0.0005", "3"),
        (Side.SHORT, "2", "3000", "-0.0005", "-3"),
        (Side.SHORT, "1", "50000", "0", "0"),
    ],
    ids=["short-receives", "long-pays", "long-receives-negative", "short-pays-negative", "zero-rate"],
)
def test_expected_funding(side: Side, amount: str, price: str, rate: str, expected: str) -> None:
    assert expected_funding(side, D(amount), D(price), D(rate)) == D(expected)
    assert side_receipt_rate(side, D(rate)) * D(amount) * D(price) == D(expected)


@pytest.mark.parametrize(
    ("exchange", "raw", "expected"),
    [
        ("binanceusdm", "0.05", "0.05"),
        ("binanceusdm", "-0.05", "-0.05"),
        ("bingx", "0.05", "0.05"),
        ("bingx", "-0.05", "-0.05"),
        ("mexc", "0.05", "0.05"),
        ("mexc", "-0.05", "-0.05"),
        ("bybit", "0.05", "-0.05"),  # execFee + = paid
        ("bybit", "-0.05", "0.05"),
        ("bybit", "0", "0"),
    ],
    ids=["binance-received", "binance-paid", "bingx-received", "bingx-paid", "mexc-received", "mexc-paid",
         "bybit-fee-paid", "bybit-fee-received", "bybit-zero"],
)
def test_normalize_funding_amount(exchange: str, raw: str, expected: str) -> None:
    assert normalize_funding_amount(exchange, D(raw)) == D(expected)


def test_normalize_funding_amount_unknown_exchange() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_funding_amount("binance", D("1"))
    assert "'binance'" in caught.value.user_message and "binanceusdm" in caught.value.user_message


@pytest.mark.parametrize(
    ("leg", "expected"),
    [
        (ClosedLeg(Side.LONG, D("0.01"), D("50000"), D("50100")), "1"),
        (ClosedLeg(Side.LONG, D("0.01"), D("50000"), D("49900")), "-1"),
        (ClosedLeg(Side.SHORT, D("0.01"), D("50000"), D("49900")), "1"),
        (ClosedLeg(Side.SHORT, D("0.01"), D("50000"), D("50100")), "-1"),
        (ClosedLeg(Side.SHORT, D("0.01"), D("50000"), D("50000")), "0"),
    ],
    ids=["long-up", "long-down", "short-down", "short-up", "flat"],
)
def test_leg_price_pnl(leg: ClosedLeg, expected: str) -> None:
    assert leg_price_pnl(leg) == D(expected)


@pytest.mark.parametrize(
    ("legs", "funding", "fees", "expected"),
    [
        # Hedged: price moves cancel; funding minus fees is what remains.
        ((ClosedLeg(Side.SHORT, D("0.01"), D("50000"), D("50100")),
          ClosedLeg(Side.LONG, D("0.01"), D("50010"), D("50110"))), "0.05", "0.04", "0.01"),
        # Entry spread between venues shows up in the price PnL.
        ((ClosedLeg(Side.SHORT, D("0.01"), D("50020"), D("50100")),
          ClosedLeg(Side.LONG, D("0.01"), D("50000"), D("50100"))), "0.05", "0.04", "0.21"),
        ((), "0", "0", "0"),
        ((ClosedLeg(Side.LONG, D("1"), D("10"), D("10")),), "-0.3", "0.1", "-0.4"),
    ],
    ids=["hedged", "entry-spread", "no-legs", "paid-funding"],
)
def test_realized_pnl(legs: tuple[ClosedLeg, ...], funding: str, fees: str, expected: str) -> None:
    assert realized_pnl(legs, D(funding), D(fees)) == D(expected)


def test_every_exchange_has_a_funding_sign() -> None:
    assert set(FUNDING_AMOUNT_SIGN) == set(EXCHANGE_IDS)


@pytest.mark.parametrize(
    ("payment", "own", "net", "share"),
    [
        ("0.54", "-0.01", "-0.03", "0.18"),  # two shorts share one payment by size
        ("0.54", "-0.02", "-0.03", "0.36"),
        ("0.3", "-0.01", "-0.01", "0.3"),  # alone: the whole payment
        ("0.06", "0.01", "-0.01", "-0.06"),  # a long netted against a larger short pays what a short receives
        ("0.06", "-0.02", "-0.01", "0.12"),
        ("0", "0.01", "0", "0"),  # fully netted: nothing was paid
    ],
)
def test_share_of_payment(payment, own, net, share):
    from arbitrage.domain.funding import share_of_payment

    assert share_of_payment(Decimal(payment), Decimal(own), Decimal(net)) == Decimal(share)
