from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rich.console import Console

from arbitrage.db.models import Subscription
from arbitrage.domain import Side
from arbitrage.domain.status import Status
from arbitrage.cli.presenters import (
    format_leverage,
    format_pair,
    format_time_left,
    row_to_dict,
    subscription_to_dict,
    subscriptions_table,
    to_json,
)
from arbitrage.services.pipeline_config import PipelineConfig

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
    [(None, None, "3x"), (5, None, "5x"), ("max", None, "max"), ("max", 40, "40x"), (50, 20, "20x")],
)
def test_leverage_shows_what_was_applied_else_what_will_be_asked(requested, applied, shown) -> None:
    assert format_leverage(Subscription(leverage=requested, applied_leverage=applied), 3) == shown


@pytest.mark.parametrize(("requested", "shown"), [(None, "default"), (5, "5"), ("max", "max")])
def test_json_leverage_is_always_a_string(requested: object, shown: str) -> None:
    assert subscription_to_dict(_subscription(leverage=requested), PipelineConfig())["leverage"] == shown


def test_trigger_and_deadline_are_the_schedulers() -> None:
    config = PipelineConfig(default_lead_seconds=5, min_lead_seconds={"bingx": 30})
    row = subscription_to_dict(_subscription(), config)  # bingx primary, lead 5 s stored
    assert row["trigger_at"] == config.trigger_time(_subscription()).isoformat()
    assert row["entry_deadline"] == "2030-01-01T07:59:30+00:00"  # BingX's 30 s
    assert datetime.fromisoformat(row["trigger_at"]) < datetime.fromisoformat(row["entry_deadline"])  # not 07:59:55
    plain = subscription_to_dict(_subscription(primary_exchange="bybit", hedge_exchange="mexc"), config)
    assert (plain["trigger_at"], plain["entry_deadline"]) == ("2030-01-01T07:59:55+00:00", "2030-01-01T07:59:59+00:00")


def test_list_fits_80_columns_without_cutting_anything() -> None:
    rows = [
        _subscription(id=1, primary_exchange="binanceusdm", hedge_exchange="bingx", amount=Decimal("0.015"),
                      leverage=None, status=Status.SCHEDULED),
        _subscription(id=2, status=Status.NEEDS_ATTENTION, applied_leverage=20),
        _subscription(id=3, status=Status.SYNCING_LEVERAGE, leverage="max"),
    ]
    text = _render(rows)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    assert lines[0].split() == ["id", "pair", "side", "amount", "lev", "funding", "UTC", "left", "status"]
    assert lines[2].split() == ["1", "binance→bingx", "BTC", "short", "0.015", "3x", "01-01", "08:00", "2h", "00m",
                                "SCHEDULED"]
    assert lines[3].split() == ["2", "bingx→bybit", "BTC", "short", "0.010", "20x", "01-01", "08:00",
                                "NEEDS_ATTENTION"]  # no time left for a row the daemon no longer drives
    assert lines[4].split()[-1] == "SYNCING_LEVERAGE" and len(lines) == 5  # one line per row


def test_list_wraps_an_unusually_long_row_instead_of_cutting_it() -> None:
    long_row = _subscription(id=123456, primary_exchange="binanceusdm", amount=Decimal("12345.678"),
                             status=Status.SYNCING_LEVERAGE, primary_symbol="SHIB1000/USDT:USDT",
                             hedge_symbol="1000SHIB/USDT:USDT")
    text = _render([long_row])
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text
    assert "SHIB1000|1000SHIB" in "".join(text.split()) and "SYNCING_LEVERAGE" in text and "12345.678" in text


def _render(rows: list[Subscription]) -> str:
    console = Console(width=80, record=True)
    console.print(subscriptions_table(rows, NOW, 3))
    return console.export_text()
