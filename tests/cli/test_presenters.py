from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbitrage.db.models import Subscription
from arbitrage.domain import Side
from arbitrage.domain.status import Status
from arbitrage.presenters import format_pair, format_time_left, row_to_dict, to_json

NOW = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(hours=2, minutes=3, seconds=59), "2h 03m"),
        (timedelta(hours=1), "1h 00m"),
        (timedelta(minutes=12, seconds=5), "12m 05s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(days=3, hours=4, minutes=5), "3d 04h"),
        (timedelta(0), "-"),
        (timedelta(seconds=-30), "-"),
    ],
)
def test_time_left(delta: timedelta, expected: str) -> None:
    assert format_time_left(NOW + delta, NOW) == expected


def _subscription(**overrides: object) -> Subscription:
    values: dict[str, object] = dict(
        id=7,
        primary_exchange="bingx",
        primary_symbol="BTC/USDT:USDT",
        hedge_exchange="bybit",
        hedge_symbol="BTC/USDT:USDT",
        side=Side.SHORT,
        amount=Decimal("0.010"),
        leverage=3,
        funding_time=datetime(2030, 1, 1, 8, tzinfo=UTC),
        lead_seconds=5,
        status=Status.SCHEDULED,
        fees=Decimal("-0.000001"),
    )
    values.update(overrides)
    return Subscription(**values)


def test_pair() -> None:
    assert format_pair(_subscription()) == "bingx→bybit BTC/USDT:USDT"
    assert format_pair(_subscription(hedge_symbol="BTC/USDC:USDC")) == "bingx BTC/USDT:USDT→bybit BTC/USDC:USDC"


def test_json_uses_strings_for_decimals_and_offsets_for_times() -> None:
    row = json.loads(to_json(row_to_dict(_subscription())))
    assert row["amount"] == "0.010" and row["fees"] == "-0.000001"  # exact digits, no exponent, no float
    assert row["funding_time"] == "2030-01-01T08:00:00+00:00"
    assert (row["side"], row["status"], row["error_message"]) == ("SHORT", "SCHEDULED", None)


@pytest.mark.parametrize(
    ("requested", "applied", "shown"),
    [(None, None, "default"), (5, None, "5x"), ("max", None, "max"), ("max", 40, "40x"), (50, 20, "20x")],
)
def test_leverage_shows_what_was_applied_else_what_was_asked(requested, applied, shown) -> None:
    from arbitrage.presenters import format_leverage

    assert format_leverage(Subscription(leverage=requested, applied_leverage=applied)) == shown
