"""Which funding instants a subscription may name, and what it should earn: one row per rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbitrage.domain import Side
from arbitrage.domain.funding_schedule import FundingSchedule, funding_time_problem
from arbitrage.domain.hedge_pair import parse_listing
from arbitrage.domain.trade_estimate import estimate_capture

NEXT = datetime(2030, 1, 1, 8, tzinfo=UTC)
EIGHT_HOURLY = FundingSchedule("bybit", "BTC/USDT:USDT", NEXT, 8)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("schedule", "when", "force", "problem"),
    [
        (EIGHT_HOURLY, NEXT, False, None),
        (EIGHT_HOURLY, NEXT + 16 * H, False, None),
        (EIGHT_HOURLY, NEXT + 24 * H, False, "is 3 funding intervals after the next one"),
        (EIGHT_HOURLY, NEXT + 24 * H, True, None),
        (EIGHT_HOURLY, NEXT + 8 * 24 * H, True, "is more than 7 days after the next funding"),
        (EIGHT_HOURLY, NEXT + 3 * H + timedelta(minutes=17), False, "is not a funding time"),
        (EIGHT_HOURLY, NEXT + timedelta(milliseconds=500), True, "is not a funding time"),
        (EIGHT_HOURLY, NEXT - 8 * H, False, "is not a funding time"),
        (FundingSchedule("bybit", "X/USDT:USDT", NEXT, 1), NEXT + 2 * H, False, None),
        (FundingSchedule("mexc", "X/USDT:USDT", NEXT, None), NEXT, False, None),
        (FundingSchedule("mexc", "X/USDT:USDT", NEXT, None), NEXT + 8 * H, True, "does not report the interval"),
    ],
)
def test_funding_time_problem(schedule: FundingSchedule, when: datetime, force: bool, problem: str | None) -> None:
    found = funding_time_problem(schedule, when, force=force)
    assert found is None if problem is None else problem in (found or "")


@pytest.mark.parametrize(
    ("symbol", "asset", "multiplier"),
    [("BTC/USDT:USDT", "BTC", 1), ("1000PEPE/USDT:USDT", "PEPE", 1000), ("SHIB1000/USDT:USDT", "SHIB", 1000),
     ("1000000MOG/USDT:USDT", "MOG", 1_000_000), ("1INCH/USDT:USDT", "1INCH", 1), ("10/USDT:USDT", "10", 1)],
)
def test_listing_multipliers(symbol: str, asset: str, multiplier: int) -> None:
    listing = parse_listing(symbol)
    assert (listing.asset, listing.multiplier) == (asset, multiplier)


def test_estimate_counts_both_legs_at_the_same_instant_and_four_fees() -> None:
    same = estimate_capture(Side.SHORT, Decimal("0.01"), Decimal(60000), Decimal("0.003"), Decimal("0.0001"),
                            Decimal("0.00055"), Decimal("0.0005"))
    assert (same.notional, same.primary_funding, same.hedge_funding, same.fees) == (
        Decimal("600"), Decimal("1.8"), Decimal("-0.06"), Decimal("1.26"))
    assert same.net == Decimal("0.48") and same.net_bps == Decimal(8)
    other = estimate_capture(Side.LONG, Decimal(1), Decimal(100), Decimal("-0.001"), None, Decimal(0), Decimal(0))
    assert (other.primary_funding, other.hedge_funding, other.net) == (Decimal("0.1"), None, Decimal("0.1"))
