"""The transition table, checked pair by pair over every (from, to) combination."""

from __future__ import annotations

import itertools

import pytest

from arbitrage.domain.status import (
    InvalidOrderTransition,
    InvalidTransition,
    OrderStatus,
    Status,
    can_transition,
    check_order_transition,
    check_transition,
    is_terminal,
)

S = Status
ALLOWED = {
    (S.SCHEDULED, S.SYNCING_LEVERAGE),
    (S.SCHEDULED, S.CANCELLED),
    (S.SCHEDULED, S.SKIPPED),
    (S.SCHEDULED, S.ERROR),
    (S.SYNCING_LEVERAGE, S.OPENING),
    (S.SYNCING_LEVERAGE, S.SKIPPED),
    (S.SYNCING_LEVERAGE, S.ERROR),
    (S.OPENING, S.SCHEDULED),
    (S.OPENING, S.SKIPPED),
    (S.OPENING, S.OPEN),
    (S.OPENING, S.ERROR),
    (S.OPENING, S.NEEDS_ATTENTION),
    (S.OPEN, S.CLOSING),
    (S.OPEN, S.NEEDS_ATTENTION),
    (S.CLOSING, S.COMPLETED),
    (S.CLOSING, S.NEEDS_ATTENTION),
    (S.NEEDS_ATTENTION, S.COMPLETED),
    (S.NEEDS_ATTENTION, S.ERROR),
}
ALL_PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_transition(from_status: Status, to_status: Status) -> None:
    if (from_status, to_status) in ALLOWED:
        check_transition(from_status, to_status)
        assert can_transition(from_status, to_status)
    else:
        with pytest.raises(InvalidTransition) as raised:
            check_transition(from_status, to_status)
        assert str(from_status) in str(raised.value) and str(to_status) in str(raised.value)
        assert not can_transition(from_status, to_status)


@pytest.mark.parametrize(
    ("status", "terminal"),
    [(S.COMPLETED, True), (S.SKIPPED, True), (S.CANCELLED, True), (S.ERROR, True)]
    + [(s, False) for s in (S.SCHEDULED, S.SYNCING_LEVERAGE, S.OPENING, S.OPEN, S.CLOSING, S.NEEDS_ATTENTION)],
)
def test_terminal_states(status: Status, terminal: bool) -> None:
    assert is_terminal(status) is terminal
    leaves = any(can_transition(status, other) for other in Status)
    assert leaves is not terminal


def test_plain_strings_from_the_database_are_accepted() -> None:
    check_transition("SCHEDULED", "CANCELLED")  # type: ignore[arg-type]
    assert is_terminal("CANCELLED")  # type: ignore[arg-type]


def test_every_status_is_reachable_from_scheduled() -> None:
    reached, frontier = {S.SCHEDULED}, [S.SCHEDULED]
    while frontier:
        current = frontier.pop()
        for target in Status:
            if can_transition(current, target) and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(Status)


def test_status_groups_follow_the_table() -> None:
    from arbitrage.domain.status import HOLDING, IN_PROGRESS

    assert IN_PROGRESS == {s for s in Status if not is_terminal(s)} - {S.NEEDS_ATTENTION}
    assert HOLDING < IN_PROGRESS and S.SCHEDULED not in HOLDING and S.SYNCING_LEVERAGE not in HOLDING


O = OrderStatus
DOUBT_SETTLED = {O.FILLED, O.PARTIALLY_FILLED, O.REJECTED, O.FAILED, O.UNKNOWN}
ORDER_ALLOWED = (
    {(O.PENDING, to) for to in DOUBT_SETTLED | {O.SENT}}
    | {(source, to) for source in (O.SENT, O.UNKNOWN) for to in DOUBT_SETTLED}
    | {(O.PARTIALLY_FILLED, O.PARTIALLY_FILLED), (O.PARTIALLY_FILLED, O.FILLED)}
    | {(O.FILLED, O.FILLED), (O.REJECTED, O.REJECTED), (O.FAILED, O.FAILED)}
)
ORDER_PAIRS = list(itertools.product(OrderStatus, OrderStatus))


@pytest.mark.parametrize(("from_status", "to_status"), ORDER_PAIRS, ids=[f"{a}->{b}" for a, b in ORDER_PAIRS])
def test_order_transition(from_status: OrderStatus, to_status: OrderStatus) -> None:
    """A settled order (filled, refused, never sent) is never rewritten into something else; one in doubt is."""
    if (from_status, to_status) in ORDER_ALLOWED:
        check_order_transition("arb-x-1-PO1", from_status, to_status)
    else:
        with pytest.raises(InvalidOrderTransition) as raised:
            check_order_transition("arb-x-1-PO1", from_status, to_status)
        assert "arb-x-1-PO1" in str(raised.value)
