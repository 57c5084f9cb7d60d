from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrage.domain.errors import SizingError, ValidationError
from arbitrage.domain.sizing import (
    MarketRules,
    common_step,
    minimum_amount,
    round_amount_to_both,
)

D = Decimal
SYMBOL = "BTC/USDT:USDT"


def rules(
    exchange: str,
    step: str,
    *,
    min_qty: str = "0",
    min_notional: str = "0",
    max_qty: str | None = None,
) -> MarketRules:
    return MarketRules(
        exchange=exchange,
        symbol=SYMBOL,
        step_size=D(step),
        min_qty=D(min_qty),
        min_notional=D(min_notional),
        max_qty=None if max_qty is None else D(max_qty),
        tick_size=D("0.1"),
    )


@pytest.mark.parametrize(
    ("step_a", "step_b", "expected"),
    [
        ("0.001", "0.001", "0.001"),
        ("0.001", "0.0001", "0.001"),
        ("0.0001", "0.001", "0.001"),
        ("0.003", "0.002", "0.006"),
        ("0.0025", "0.001", "0.005"),
        ("0.5", "0.2", "1"),
        ("1", "10", "10"),
        ("0.00010", "0.0010", "0.001"),  # trailing zeros do not matter
        ("0.0003", "0.00007", "0.0021"),
    ],
    ids=["equal", "finer-hedge", "finer-primary", "lcm-3-2", "lcm-25-10", "lcm-to-integer", "integers",
         "trailing-zeros", "coprime-awkward"],
)
def test_common_step_is_exact_lcm(step_a: str, step_b: str, expected: str) -> None:
    step = common_step(rules("binanceusdm", step_a), rules("mexc", step_b))
    assert step == D(expected)
    assert str(step) == expected
    assert step % D(step_a) == 0 and step % D(step_b) == 0


@pytest.mark.parametrize(
    ("amount", "step_a", "step_b", "expected", "changed"),
    [
        ("0.012", "0.001", "0.0001", "0.012", False),
        ("0.0123", "0.001", "0.0001", "0.012", True),
        ("0.0129", "0.001", "0.0001", "0.012", True),  # truncates, never rounds up
        ("0.013", "0.003", "0.002", "0.012", True),
        ("0.012", "0.003", "0.002", "0.012", False),
        ("7", "1", "1", "7", False),
        ("1.999999", "0.5", "0.2", "1", True),
    ],
    ids=["exact-multiple", "truncated", "truncated-not-rounded", "lcm-truncated", "lcm-exact", "whole", "to-integer"],
)
def test_round_amount_to_both_truncates_to_common_step(
    amount: str, step_a: str, step_b: str, expected: str, changed: bool
) -> None:
    sized = round_amount_to_both(D(amount), rules("bybit", step_a), rules("mexc", step_b))
    assert sized.amount == D(expected)
    assert sized.requested == D(amount)
    assert sized.changed is changed
    assert sized.rounded_off == D(amount) - D(expected)


@pytest.mark.parametrize(
    ("amount", "primary", "hedge", "price", "fragments"),
    [
        pytest.param(
            "0.0005", rules("bybit", "0.001"), rules("mexc", "0.0001"), None,
            ["amount 0.0005 rounds down to 0 at step 0.001", "bybit", "mexc", SYMBOL, "at least 0.001"],
            id="zero-after-rounding",
        ),
        pytest.param(
            "0.0005", rules("binanceusdm", "0.0001"), rules("bybit", "0.0001", min_qty="0.001"), None,
            ["amount 0.0005 is below bybit's minimum order size 0.001 for BTC/USDT:USDT; raise --amount",
             "at least 0.001"],
            id="below-hedge-min-qty",
        ),
        pytest.param(
            "0.00159", rules("bingx", "0.0001", min_qty="0.002"), rules("mexc", "0.0001"), None,
            ["amount 0.00159 (rounded down to 0.0015) is below bingx's minimum order size 0.002", "at least 0.002"],
            id="below-primary-min-qty-after-rounding",
        ),
        pytest.param(
            "0.001", rules("binanceusdm", "0.001", min_notional="100"), rules("bybit", "0.001"), D("50000"),
            ["order value 50 (amount 0.001 at price 50000) is below binanceusdm's minimum order value 100",
             "raise --amount to at least 0.002"],
            id="below-min-notional-at-price",
        ),
        pytest.param(
            "0.003", rules("binanceusdm", "0.001"), rules("bybit", "0.001", min_notional="5"), D("1000"),
            ["below bybit's minimum order value 5", "at least 0.005"],
            id="below-hedge-min-notional",
        ),
        pytest.param(
            "200", rules("binanceusdm", "0.001", max_qty="120"), rules("bybit", "0.001"), None,
            ["amount 200 is above binanceusdm's maximum order size 120", "lower --amount"],
            id="above-max-qty",
        ),
        pytest.param(
            "0", rules("binanceusdm", "0.001"), rules("bybit", "0.001"), None,
            ["amount 0 is not a positive number"],
            id="zero-request",
        ),
        pytest.param(
            "-1", rules("binanceusdm", "0.001"), rules("bybit", "0.001"), None,
            ["amount -1 is not a positive number"],
            id="negative-request",
        ),
    ],
)
def test_round_amount_to_both_rejects_unplaceable_amounts(
    amount: str, primary: MarketRules, hedge: MarketRules, price: Decimal | None, fragments: list[str]
) -> None:
    with pytest.raises(SizingError) as caught:
        round_amount_to_both(D(amount), primary, hedge, price)
    for fragment in fragments:
        assert fragment in caught.value.user_message
    assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize(
    ("amount", "price", "expected"),
    [
        ("0.002", D("50000"), "0.002"),  # notional exactly at the minimum passes
        ("0.001", None, "0.001"),  # notional check skipped without a price
    ],
    ids=["notional-exactly-min", "no-price-skips-notional"],
)
def test_min_notional_edges(amount: str, price: Decimal | None, expected: str) -> None:
    sized = round_amount_to_both(
        D(amount), rules("binanceusdm", "0.001", min_notional="100"), rules("bybit", "0.001"), price
    )
    assert sized.amount == D(expected)


def test_min_qty_exactly_met_passes() -> None:
    sized = round_amount_to_both(D("0.001"), rules("bybit", "0.001", min_qty="0.001"), rules("mexc", "0.0001"))
    assert sized.amount == D("0.001")


@pytest.mark.parametrize(
    ("primary", "hedge", "price", "expected"),
    [
        (rules("a", "0.001", min_qty="0.001"), rules("b", "0.0001", min_qty="0.0005"), None, "0.001"),
        (rules("a", "0.003"), rules("b", "0.002", min_qty="0.007"), None, "0.012"),
        (rules("a", "0.001", min_notional="100"), rules("b", "0.001"), D("30000"), "0.004"),
        (rules("a", "0.001"), rules("b", "0.001"), None, "0.001"),
    ],
    ids=["max-min-qty", "min-qty-off-grid", "min-notional-ceiling", "just-one-step"],
)
def test_minimum_amount(primary: MarketRules, hedge: MarketRules, price: Decimal | None, expected: str) -> None:
    assert minimum_amount(primary, hedge, price) == D(expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"step_size": D("0")},
        {"step_size": D("-0.001")},
        {"step_size": 0.001},
        {"min_qty": D("-1")},
        {"min_notional": D("-5")},
        {"max_qty": D("0")},
        {"contract_size": D("0")},
    ],
    ids=["zero-step", "negative-step", "float-step", "negative-min-qty", "negative-min-notional", "zero-max-qty",
         "zero-contract-size"],
)
def test_market_rules_validate(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"exchange": "bybit", "symbol": SYMBOL, "step_size": D("0.001"), **kwargs}
    with pytest.raises(ValidationError) as caught:
        MarketRules(**fields)  # type: ignore[arg-type]
    assert "bybit" in caught.value.user_message
