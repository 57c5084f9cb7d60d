from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.reconcile import open_exposure
from arbitrage.domain.status import Status
from arbitrage.exchanges.connector import ClockOffset
from arbitrage.services.warm_up import WARM_UP_MAX_SECONDS, WARM_UP_MIN_SECONDS, warm_up_lead
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import SendPlan

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


class Offsets:
    def __init__(self, **seconds: float) -> None:
        self.seconds = seconds

    def offset_seconds(self, exchange_id: str) -> float:
        return self.seconds.get(exchange_id, 0.0)


@pytest.mark.parametrize(
    ("offsets", "trigger", "local_deadline", "funding_passed"),
    [  # seconds before (−) / after FUNDING on our clock; bingx + bybit: lead 32 s, deadline 30 s before funding
        ({}, -32, -30, 0),
        ({"bingx": 3}, -35, -33, 0),  # BingX ahead: its T−32 comes 3 s earlier on our clock
        ({"bingx": -3, "bybit": -3}, -29, -27, 3),  # both behind: everything 3 s later, funding passes at +3
        ({"bingx": 3, "bybit": -2}, -35, -33, 2),  # the one ahead decides the sends, the one behind the hold
    ],
)
def test_timing_follows_the_exchanges_clocks(offsets, trigger, local_deadline, funding_passed):
    config = PipelineConfig(default_lead_seconds=5, min_lead_seconds=MIN_LEADS, clocks=Offsets(**offsets))
    sub = subscription("bingx", "bybit", 5)
    assert config.trigger_time(sub) == FUNDING + timedelta(seconds=trigger)
    assert config.entry_deadline(sub) == FUNDING - timedelta(seconds=30), "the exchanges' clocks: unchanged"
    assert config.local_entry_deadline(sub) == FUNDING + timedelta(seconds=local_deadline)
    assert config.funding_passed_at(sub) == FUNDING + timedelta(seconds=funding_passed)
    deadline = FUNDING + timedelta(seconds=local_deadline)
    assert not config.missed(sub, deadline - timedelta(milliseconds=1)) and config.missed(sub, deadline)


def test_send_slots_follow_a_clock_measured_again():
    offsets = Offsets()
    config = PipelineConfig(default_lead_seconds=5, min_lead_seconds=MIN_LEADS, clocks=offsets)
    plan = SendPlan(config, {"bingx": [(1, 1.0)], "bybit": [(10, 1.0)]})  # BingX: one order a second
    first, second = subscription("bingx", "bybit", 5), subscription("bingx", "bybit", 5)
    for number, sub in enumerate((first, second), start=1):
        sub.id, sub.status = number, Status.SCHEDULED
    plan.plan([first, second])
    assert plan.trigger_time(first) == config.trigger_time(first)
    earlier = config.trigger_time(second) - plan.trigger_time(second)
    assert earlier > timedelta(seconds=1), "the second pair leaves earlier: BingX's window is full at the trigger"
    offsets.seconds["bingx"] = 3  # BingX measured 3 s ahead: both slots move with it, 1 s apart still
    assert plan.trigger_time(first) == FUNDING - timedelta(seconds=35)
    assert plan.trigger_time(second) == FUNDING - timedelta(seconds=35) - earlier


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


def test_warm_ups_go_a_few_round_trips_before_the_trigger_and_never_into_the_previous_slot() -> None:
    """On loopback a quarter second; on a 100 ms link four round trips; after a slow handshake one and a half
    times what the last new connection took; never more than a second, so that the next send slot's warm-ups
    (slots of a full exchange are about a second apart) do not take the connections this slot's orders need;
    unknown round trips take the longest lead."""
    def connector(round_trip_ms: float | None, new_connection_seconds: float | None = None) -> Any:
        offset = None if round_trip_ms is None else ClockOffset(0.0, round_trip_ms / 2)
        return SimpleNamespace(clock_offset=offset, new_connection_seconds=new_connection_seconds)

    assert warm_up_lead([connector(0.4), connector(1.0)]) == WARM_UP_MIN_SECONDS
    assert warm_up_lead([connector(0.4), connector(100.0)]) == pytest.approx(0.4)
    assert warm_up_lead([connector(0.4), connector(1.0, new_connection_seconds=0.3)]) == pytest.approx(0.45)
    assert warm_up_lead([connector(400.0), connector(1.0)]) == WARM_UP_MAX_SECONDS
    assert warm_up_lead([connector(None), connector(1.0)]) == WARM_UP_MAX_SECONDS
