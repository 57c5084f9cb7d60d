"""`plan_entry`: the one computation of amount and leverage shared by `subscribe` and the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from arbitrage.domain.errors import LeverageError, SizingError
from arbitrage.domain.leverage import LeverageRequest
from arbitrage.domain.sizing import MarketRules
from arbitrage.domain import Side
from arbitrage.domain.subscription_request import NewSubscription
from arbitrage.exchanges.connector import FundingRateInfo
from arbitrage.services.entry_plan import plan_entry

FUNDING = datetime(2030, 1, 1, 8, tzinfo=UTC)
STEPS = {"bybit": Decimal("0.001"), "binanceusdm": Decimal("0.002")}


class FakeMarkets:
    """Steps per exchange; maximum leverage 50 below a notional of 1,000, 20 from there (None: no tier above)."""

    def __init__(self, largest_cap: Decimal | None = None) -> None:
        self.largest_cap = largest_cap
        self.notionals: list[Decimal] = []

    async def rules(self, exchange: str, symbol: str) -> MarketRules:
        return MarketRules(exchange, symbol, STEPS[exchange], min_qty=Decimal("0.002"), min_notional=Decimal(1))

    async def max_leverage(self, exchange: str, symbol: str, notional: Decimal) -> int:
        self.notionals.append(notional)
        if self.largest_cap is not None and notional >= self.largest_cap:
            raise LeverageError(f"position notional {notional} exceeds the largest tier for {symbol} on {exchange}")
        return 50 if notional < 1000 else 20


def _request(amount: str, leverage: LeverageRequest | None = None) -> NewSubscription:
    return NewSubscription("bybit", "BTC/USDT:USDT", "binanceusdm", "BTC/USDT:USDT", Side.SHORT, Decimal(amount),
                           leverage, FUNDING, 5)


def _rate(exchange: str, mark_price: str | None) -> FundingRateInfo:
    price = Decimal(mark_price) if mark_price is not None else None
    return FundingRateInfo(exchange, "BTC/USDT:USDT", Decimal("0.0001"), FUNDING, price)


@pytest.mark.parametrize(
    ("amount", "leverage", "primary_price", "hedge_price", "expected"),
    [
        # amount rounded down to the common step 0.002; notional at the primary's price
        ("0.0111", None, "100", "999", ("0.01", "1.00", 3, False)),
        # the hedge's price when the primary has none
        ("0.01", 10, None, "200", ("0.01", "2.00", 10, False)),
        # capped by the tier at the rounded notional (0.02 * 60000 = 1200: 20)
        ("0.021", 30, "60000", None, ("0.02", "1200.00", 20, True)),
        ("0.01", "max", "60000", None, ("0.01", "600.00", 50, False)),
    ],
)
async def test_amount_and_leverage(
    amount: str, leverage: LeverageRequest | None, primary_price: str | None, hedge_price: str | None,
    expected: tuple[str, str, int, bool],
) -> None:
    markets = FakeMarkets()
    sizing = await plan_entry(markets, _request(amount, leverage), _rate("bybit", primary_price),
                              _rate("binanceusdm", hedge_price), 3)
    rounded, notional, applied, capped = expected
    assert (sizing.amount, sizing.notional, sizing.leverage.applied, sizing.leverage.capped) == (
        Decimal(rounded), Decimal(notional), applied, capped
    )
    assert markets.notionals == [Decimal(notional)] * 2  # both exchanges' tiers at the same notional


async def test_no_price_checks_no_minimum_value_and_reads_the_first_tier() -> None:
    sizing = await plan_entry(FakeMarkets(), _request("0.004"), _rate("bybit", None), _rate("binanceusdm", None), 3)
    assert (sizing.price, sizing.amount, sizing.notional, sizing.leverage.applied) == (None, Decimal("0.004"),
                                                                                        Decimal(0), 3)


async def test_an_amount_below_a_minimum_is_a_sizing_error_before_any_tier_is_read() -> None:
    markets = FakeMarkets()
    with pytest.raises(SizingError):
        await plan_entry(markets, _request("0.001"), _rate("bybit", "100"), _rate("binanceusdm", None), 3)
    assert markets.notionals == []


async def test_a_notional_above_every_tier_is_a_leverage_error() -> None:
    with pytest.raises(LeverageError):
        await plan_entry(FakeMarkets(largest_cap=Decimal(1000)), _request("0.02"), _rate("bybit", "60000"),
                         _rate("binanceusdm", None), 3)
