"""The spread, per-day and APR figures of a funding capture: exact Decimal tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from arbitrage.domain import Side
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.trade_estimate import (
    apr,
    crossing_cost,
    describe,
    estimate_capture,
    mid_price,
    per_day,
    round_trip_spread,
)

ASKS = [(D("100.5"), D("1")), (D("100.6"), D("2")), (D("101.0"), D("5"))]
BIDS = [(D("99.5"), D("1")), (D("99.4"), D("2")), (D("99.0"), D("5"))]


@pytest.mark.parametrize(
    ("levels", "amount", "cost", "filled", "used"),
    [
        (ASKS, D("0.5"), D("0.25"), D("0.5"), 1),  # inside the best level: half the spread
        (ASKS, D("1"), D("0.5"), D("1"), 1),
        (ASKS, D("2"), D("1.1"), D("2"), 2),  # 1 × 0.5 + 1 × 0.6
        (ASKS, D("4"), D("2.7"), D("4"), 3),  # 0.5 + 2 × 0.6 + 1 × 1.0
        (ASKS, D("10"), D("6.7"), D("8"), 3),  # the levels hold 8: 2 short
        (BIDS, D("2"), D("1.1"), D("2"), 2),  # bids: mid - price
        ([], D("1"), D("0"), D("0"), 0),
    ],
)
def test_crossing_cost_walks_the_levels(levels, amount, cost, filled, used):
    result = crossing_cost(levels, amount, D("100"))
    assert (result.cost, result.filled, result.levels_used) == (cost, filled, used)


@pytest.mark.parametrize(
    ("bids", "asks", "amount", "expected"),
    [
        (BIDS, ASKS, D("1"), (D("1.0"), D("0"))),  # the full spread once per leg: open on one side, close on the other
        (BIDS, ASKS, D("2"), (D("2.2"), D("0"))),
        (BIDS, ASKS, D("9"), (D("13.4"), D("1"))),
        ([], ASKS, D("1"), None),
    ],
)
def test_round_trip_spread(bids, asks, amount, expected):
    assert round_trip_spread(bids, asks, amount) == expected


def test_mid_price():
    assert mid_price(BIDS, ASKS) == D("100")
    assert mid_price([], ASKS) is None


@pytest.mark.parametrize(
    ("net", "hours", "day", "yearly"),
    [
        (D("1"), 8, D("3"), D("1.095")),  # 3 instants a day, 1095 USDT a year on 1000
        (D("1"), 1, D("24"), D("8.76")),
        (D("0.5"), 4, D("3"), D("1.095")),  # a 4 h symbol paying half as much per instant earns the same
        (D("-2"), 8, D("-6"), D("-2.19")),
    ],
)
def test_per_day_and_apr_compare_intervals(net, hours, day, yearly):
    assert per_day(net, hours) == day
    assert apr(net, D("1000"), hours) == yearly


def test_estimate_subtracts_the_spread():
    estimate = estimate_capture(Side.SHORT, D("0.02"), D("50000"), D("0.001"), D("0.0002"), D("0.0005"), D("0.0004"),
                                spread=D("0.44"))
    # funding 1 - 0.2, fees 2 × 1000 × 0.0009 = 1.8, spread 0.44
    assert (estimate.primary_funding, estimate.hedge_funding, estimate.fees) == (D("1"), D("-0.2"), D("1.8"))
    assert estimate.net == D("-1.44")
    line = describe(estimate, "bybit", "binanceusdm")
    assert "spread -0.4400" in line and "not included" not in line
    unknown = estimate_capture(Side.SHORT, D("0.02"), D("50000"), D("0.001"), None, D("0"), D("0"))
    assert unknown.net == D("1")
    assert "spread not included (binanceusdm: no bids)" in describe(unknown, "bybit", "binanceusdm",
                                                                     "binanceusdm: no bids")


def test_opportunity_per_day_and_apr():
    row = Opportunity(
        symbol="BTC/USDT:USDT", primary="bybit", hedge="binanceusdm", side=Side.SHORT,
        funding_time=datetime(2026, 12, 2, 8, tzinfo=UTC), notional_usdt=D("1000"), primary_rate=D("0.001"),
        hedge_rate=None, primary_interval_hours=1, hedge_interval_hours=8, funding_usdt=D("1"), fees_usdt=D("0.4"),
        spread_usdt=D("0.1"),
    )
    assert (row.net_usdt, row.net_bps, row.net_per_day_usdt, row.apr) == (D("0.5"), D("5"), D("12"), D("4.38"))
