from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.reconcile import open_exposure
from arbitrage.services.pipeline_config import PipelineConfig

FUNDING = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
MIN_LEADS = {"binanceusdm": 0, "bybit": 0, "bingx": 30, "mexc": 0}


def subscription(primary: str, hedge: str, lead: int) -> Subscription:
    return Subscription(primary_exchange=primary, hedge_exchange=hedge, funding_time=FUNDING, lead_seconds=lead)


@pytest.mark.parametrize(
    ("primary", "hedge", "lead", "effective", "deadline_before_funding"),
    [
        ("bybit", "binanceusdm", 5, 5, 1),  # default lead; deadline is the 1 s safety margin
        ("bybit", "binanceusdm", 0, 3, 1),  # even a zero default keeps 2 s of headroom before the deadline
        ("bybit", "binanceusdm", 2, 5, 1),  # a shorter subscription lead never undercuts the default
        ("bybit", "binanceusdm", 12, 12, 1),  # a longer one is honoured
        ("bingx", "bybit", 5, 32, 30),  # BingX ignores positions opened in the last 30 s: out 2 s before that
        ("mexc", "bingx", 45, 45, 30),  # hedge on BingX constrains the pair too
    ],
)
def test_effective_lead_and_entry_deadline(primary, hedge, lead, effective, deadline_before_funding):
    default = 0 if lead == 0 else 5
    config = PipelineConfig(default_lead_seconds=default, leverage_sync_ahead_seconds=30, min_lead_seconds=MIN_LEADS)
    sub = subscription(primary, hedge, lead)
    assert config.effective_lead(sub) == effective
    assert config.trigger_time(sub) == FUNDING - timedelta(seconds=effective)
    assert config.prepare_time(sub) == FUNDING - timedelta(seconds=effective + 30)
    assert config.entry_deadline(sub) == FUNDING - timedelta(seconds=deadline_before_funding)
    assert config.entry_deadline(sub) - config.trigger_time(sub) >= timedelta(seconds=2)  # a 1 s MEXC window fits


def order(leg: Leg, purpose: OrderPurpose, filled: str) -> Order:
    return Order(leg=leg, purpose=purpose, filled=Decimal(filled))


@pytest.mark.parametrize(
    ("orders", "primary", "hedge"),
    [
        ([], "0", "0"),
        ([order(Leg.PRIMARY, OrderPurpose.OPEN, "0.01"), order(Leg.HEDGE, OrderPurpose.OPEN, "0.01")], "0.01", "0.01"),
        ([order(Leg.PRIMARY, OrderPurpose.OPEN, "0.01"), order(Leg.PRIMARY, OrderPurpose.UNWIND, "0.01")], "0", "0"),
        (
            [order(Leg.PRIMARY, OrderPurpose.OPEN, "0.01"), order(Leg.PRIMARY, OrderPurpose.CLOSE, "0.004"),
             order(Leg.HEDGE, OrderPurpose.OPEN, "0.01"), order(Leg.HEDGE, OrderPurpose.CLOSE, "0")],
            "0.006", "0.01",
        ),
    ],
    ids=["nothing", "both-open", "unwound", "partly-closed"],
)
def test_open_exposure_counts_fills_by_purpose(orders, primary, hedge):
    assert open_exposure(orders, Leg.PRIMARY) == Decimal(primary)
    assert open_exposure(orders, Leg.HEDGE) == Decimal(hedge)
