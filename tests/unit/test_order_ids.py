from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from arbitrage.domain.order_ids import MAX_LENGTH, client_order_id

CREATED = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)
# The strictest of the four venues' rules (Binance charset, MEXC length).
VALID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@pytest.mark.parametrize(
    ("subscription_id", "leg", "purpose", "attempt", "suffix"),
    [
        (1, "PRIMARY", "OPEN", 1, "-1-PO1"),
        (42, "HEDGE", "OPEN", 1, "-42-HO1"),
        (42, "PRIMARY", "CLOSE", 2, "-42-PC2"),
        (7, "HEDGE", "UNWIND", 1, "-7-HU1"),
    ],
)
def test_ids_name_subscription_leg_purpose_and_attempt(subscription_id, leg, purpose, attempt, suffix):
    value = client_order_id(subscription_id, CREATED, leg, purpose, attempt)
    assert value.startswith("arb-") and value.endswith(suffix)
    assert VALID.match(value)


def test_same_inputs_give_the_same_id_and_any_change_gives_another():
    base = client_order_id(5, CREATED, "PRIMARY", "OPEN")
    assert base == client_order_id(5, CREATED, "PRIMARY", "OPEN")
    others = {
        client_order_id(6, CREATED, "PRIMARY", "OPEN"),
        client_order_id(5, CREATED.replace(second=1), "PRIMARY", "OPEN"),
        client_order_id(5, CREATED, "HEDGE", "OPEN"),
        client_order_id(5, CREATED, "PRIMARY", "CLOSE"),
        client_order_id(5, CREATED, "PRIMARY", "OPEN", 2),
    }
    assert base not in others and len(others) == 5


def test_largest_realistic_ids_fit_every_venue():
    value = client_order_id(10**9, datetime(2100, 1, 1, tzinfo=UTC), "PRIMARY", "UNWIND", 99)
    assert len(value) <= MAX_LENGTH and VALID.match(value)


@pytest.mark.parametrize(("subscription_id", "attempt"), [(0, 1), (1, 0)])
def test_rejects_non_positive_numbers(subscription_id, attempt):
    with pytest.raises(ValueError):
        client_order_id(subscription_id, CREATED, "PRIMARY", "OPEN", attempt)
