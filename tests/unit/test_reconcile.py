"""Crash recovery's decision table: order rows + lookups → updates, reductions and the status to reach."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.order_ids import next_attempt
from arbitrage.domain.reconcile import Lookup, OrderFact, plan_recovery
from arbitrage.domain.status import OrderStatus, Status

D = Decimal
FULL = D("0.01")
STEPS = {Leg.PRIMARY: D("0.001"), Leg.HEDGE: D("0.001")}
EXCHANGES = {Leg.PRIMARY: "bybit", Leg.HEDGE: "binanceusdm"}
P, H = Leg.PRIMARY, Leg.HEDGE
OPEN, CLOSE, UNWIND = OrderPurpose.OPEN, OrderPurpose.CLOSE, OrderPurpose.UNWIND
PENDING, UNKNOWN = OrderStatus.PENDING, OrderStatus.UNKNOWN
FILLED, PARTIAL, REJECTED, FAILED = (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED, OrderStatus.REJECTED,
                                     OrderStatus.FAILED)


def order(leg: Leg, purpose: OrderPurpose, status: OrderStatus = PENDING, filled: str = "0", *,
          attempt: int = 1, amount: Decimal = FULL) -> OrderFact:
    cid = f"arb-t3x9k2-7-{leg.value[0]}{purpose.value[0]}{attempt}"
    return OrderFact(cid, leg, purpose, EXCHANGES[leg], amount, status, D(filled))


def found(filled: str) -> Lookup:
    return Lookup.found(D(filled))


NOT_FOUND = Lookup.not_found()
TIMED_OUT = Lookup.failed("lookup failed: binanceusdm: request timed out")
OPENS = [order(P, OPEN), order(H, OPEN)]
FILLED_OPENS = [order(P, OPEN, FILLED, "0.01"), order(H, OPEN, FILLED, "0.01")]

# (status, orders, lookups by (leg, purpose, attempt), target, reductions {leg: amount}, purpose,
#  row statuses after the lookups {(leg, purpose, attempt): status}, words the reason must contain)
CASES = {
    "opening-both-filled-resumes-open": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.01"), (H, OPEN, 1): found("0.01")},
        Status.OPEN, {}, None, {(P, OPEN, 1): FILLED, (H, OPEN, 1): FILLED}, ["both legs filled"]),
    "opening-uneven-fill-reduces-the-larger-leg": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.01"), (H, OPEN, 1): found("0.006")},
        Status.OPEN, {P: "0.004"}, UNWIND, {(H, OPEN, 1): PARTIAL}, ["both legs filled"]),
    "opening-uneven-below-one-step-is-left-as-is": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.0100"), (H, OPEN, 1): found("0.0095")},
        Status.OPEN, {}, None, {}, []),
    "opening-hedge-never-arrived-unwinds-primary": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.01"), (H, OPEN, 1): NOT_FOUND},
        Status.ERROR, {P: "0.01"}, UNWIND, {(H, OPEN, 1): FAILED},
        ["only the primary leg filled", "hedge order on binanceusdm: never reached the exchange"]),
    "opening-hedge-cancelled-unfilled-unwinds-primary": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.01"), (H, OPEN, 1): found("0")},
        Status.ERROR, {P: "0.01"}, UNWIND, {(H, OPEN, 1): REJECTED}, ["only the primary leg filled"]),
    "opening-primary-rejected-before-crash-unwinds-hedge": (
        Status.OPENING, [order(P, OPEN, REJECTED), order(H, OPEN)], {(H, OPEN, 1): found("0.01")},
        Status.ERROR, {H: "0.01"}, UNWIND, {(H, OPEN, 1): FILLED}, ["only the hedge leg filled"]),
    "opening-nothing-filled-is-an-error": (
        Status.OPENING, OPENS, {(P, OPEN, 1): NOT_FOUND, (H, OPEN, 1): NOT_FOUND},
        Status.ERROR, {}, None, {(P, OPEN, 1): FAILED, (H, OPEN, 1): FAILED}, ["no order filled"]),
    "opening-lookup-failed-needs-attention-naming-the-order": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.01"), (H, OPEN, 1): TIMED_OUT},
        Status.NEEDS_ATTENTION, {}, None, {(P, OPEN, 1): FILLED, (H, OPEN, 1): UNKNOWN},
        ["arb-t3x9k2-7-HO1 on binanceusdm", "request timed out"]),
    "opening-order-without-lookup-counts-as-failed": (
        Status.OPENING, OPENS, {(P, OPEN, 1): found("0.01")},
        Status.NEEDS_ATTENTION, {}, None, {(H, OPEN, 1): UNKNOWN}, ["arb-t3x9k2-7-HO1"]),
    "opening-unknown-row-found-filled-counts": (
        Status.OPENING, [order(P, OPEN, FILLED, "0.01"), order(H, OPEN, UNKNOWN)], {(H, OPEN, 1): found("0.01")},
        Status.OPEN, {}, None, {(H, OPEN, 1): FILLED}, []),
    "opening-crash-after-unwind-filled-is-an-error": (
        Status.OPENING, [order(P, OPEN, FILLED, "0.01"), order(H, OPEN, REJECTED), order(P, UNWIND)],
        {(P, UNWIND, 1): found("0.01")},
        Status.ERROR, {}, None, {(P, UNWIND, 1): FILLED}, ["the filled legs were already unwound"]),
    "opening-crash-before-unwind-arrived-unwinds-again": (
        Status.OPENING, [order(P, OPEN, FILLED, "0.01"), order(H, OPEN, REJECTED), order(P, UNWIND)],
        {(P, UNWIND, 1): NOT_FOUND},
        Status.ERROR, {P: "0.01"}, UNWIND, {(P, UNWIND, 1): FAILED}, ["only the primary leg filled"]),
    "opening-crash-after-balancing-filled-resumes-open": (
        Status.OPENING, [order(P, OPEN, FILLED, "0.01"), order(H, OPEN, PARTIAL, "0.006"), order(P, UNWIND)],
        {(P, UNWIND, 1): found("0.004")},
        Status.OPEN, {}, None, {(P, UNWIND, 1): PARTIAL}, []),
    "closing-both-closes-filled-completes": (
        Status.CLOSING, [*FILLED_OPENS, order(P, CLOSE), order(H, CLOSE)],
        {(P, CLOSE, 1): found("0.01"), (H, CLOSE, 1): found("0.01")},
        Status.COMPLETED, {}, None, {(P, CLOSE, 1): FILLED, (H, CLOSE, 1): FILLED}, ["both legs are flat"]),
    "closing-one-close-never-arrived-is-sent-again": (
        Status.CLOSING, [*FILLED_OPENS, order(P, CLOSE), order(H, CLOSE)],
        {(P, CLOSE, 1): found("0.01"), (H, CLOSE, 1): NOT_FOUND},
        Status.COMPLETED, {H: "0.01"}, CLOSE, {(H, CLOSE, 1): FAILED}, ["the hedge leg is still open"]),
    "closing-before-any-close-was-recorded-closes-both": (
        Status.CLOSING, FILLED_OPENS, {},
        Status.COMPLETED, {P: "0.01", H: "0.01"}, CLOSE, {}, ["primary and hedge legs are still open"]),
    "closing-partly-closed-leg-closes-the-rest": (
        Status.CLOSING,
        [*FILLED_OPENS, order(P, CLOSE, PARTIAL, "0.004"), order(H, CLOSE, FILLED, "0.01"),
         order(P, CLOSE, attempt=2, amount=D("0.006"))],
        {(P, CLOSE, 2): NOT_FOUND},
        Status.COMPLETED, {P: "0.006"}, CLOSE, {(P, CLOSE, 2): FAILED}, []),
    "closing-lookup-failed-needs-attention": (
        Status.CLOSING, [*FILLED_OPENS, order(P, CLOSE), order(H, CLOSE)],
        {(P, CLOSE, 1): found("0.01"), (H, CLOSE, 1): TIMED_OUT},
        Status.NEEDS_ATTENTION, {}, None, {(H, CLOSE, 1): UNKNOWN}, ["while closing", "arb-t3x9k2-7-HC1"]),
    "closing-more-than-opened-needs-attention": (
        Status.CLOSING, [*FILLED_OPENS, order(P, CLOSE, FILLED, "0.01"), order(P, CLOSE, attempt=2)],
        {(P, CLOSE, 2): found("0.01")},
        Status.NEEDS_ATTENTION, {}, None, {}, ["close more than they opened"]),
}


def _cid(leg: Leg, purpose: OrderPurpose, attempt: int) -> str:
    return f"arb-t3x9k2-7-{leg.value[0]}{purpose.value[0]}{attempt}"


@pytest.mark.parametrize(
    ("status", "orders", "lookups", "target", "reductions", "purpose", "row_statuses", "words"),
    list(CASES.values()), ids=list(CASES),
)
def test_recovery_plan(status, orders, lookups, target, reductions, purpose, row_statuses, words):
    plan = plan_recovery(status, orders, {_cid(*key): value for key, value in lookups.items()}, STEPS)
    assert plan.target is target, plan.reason
    assert {r.leg: r.amount for r in plan.reductions} == {leg: D(amount) for leg, amount in reductions.items()}
    assert plan.purpose is purpose
    stored = {u.client_order_id: u.status for u in plan.updates}
    for key, expected in row_statuses.items():
        assert stored[_cid(*key)] is expected, key
    assert set(stored) == {o.client_order_id for o in orders if o.status in (PENDING, UNKNOWN)}
    for word in words:
        assert word in plan.reason


def test_looked_up_fills_are_stored_and_count_in_the_exposure():
    plan = plan_recovery(Status.OPENING, OPENS, {_cid(P, OPEN, 1): found("0.01"), _cid(H, OPEN, 1): found("0.006")},
                         STEPS)
    assert {u.client_order_id: u.filled for u in plan.updates} == {_cid(P, OPEN, 1): FULL, _cid(H, OPEN, 1): D("0.006")}
    assert plan.exposure == {P: FULL, H: D("0.006")}


def test_failed_lookup_names_every_order_in_doubt():
    plan = plan_recovery(Status.OPENING, OPENS, {_cid(P, OPEN, 1): TIMED_OUT, _cid(H, OPEN, 1): TIMED_OUT}, STEPS)
    assert plan.in_doubt == (_cid(P, OPEN, 1), _cid(H, OPEN, 1))
    assert "arb-t3x9k2-7-PO1 on bybit" in plan.reason and "arb-t3x9k2-7-HO1 on binanceusdm" in plan.reason


@pytest.mark.parametrize("status", [Status.SCHEDULED, Status.OPEN, Status.COMPLETED, Status.NEEDS_ATTENTION])
def test_only_interrupted_orders_are_recovered(status):
    with pytest.raises(ValueError, match="only OPENING or CLOSING"):
        plan_recovery(status, OPENS, {})


@pytest.mark.parametrize(
    ("ids", "leg", "purpose", "expected"),
    [
        ([], P, CLOSE, 1),
        (["arb-t3x9k2-7-PO1", "arb-t3x9k2-7-HO1"], P, CLOSE, 1),
        (["arb-t3x9k2-7-PO1", "arb-t3x9k2-7-HO1"], H, OPEN, 2),
        (["arb-t3x9k2-7-PC1", "arb-t3x9k2-7-PC2", "arb-t3x9k2-7-HC1"], P, CLOSE, 3),
        (["arb-t3x9k2-7-PC1", "arb-t3x9k2-7-PC2", "arb-t3x9k2-7-HC1"], H, CLOSE, 2),
        (["arb-t3x9k2-7-PU1", "arb-t3x9k2-7-PC4"], P, UNWIND, 2),
        (["arb-t3x9k2-17-HU9", "arb-t3x9k2-17-HU10"], H, UNWIND, 11),
    ],
)
def test_next_attempt_follows_the_highest_id_used_for_leg_and_purpose(ids, leg, purpose, expected):
    assert next_attempt(ids, leg, purpose) == expected
