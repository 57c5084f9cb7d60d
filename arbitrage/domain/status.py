"""Subscription and order statuses, and the ONE table of allowed subscription transitions.

    SCHEDULED ─▶ SYNCING_LEVERAGE ─▶ OPENING ─▶ OPEN ─▶ CLOSING ─▶ COMPLETED

ERROR means it failed and nothing is left open; NEEDS_ATTENTION means exposure may remain and a human must look.
COMPLETED, SKIPPED, CANCELLED and ERROR are terminal. NEEDS_ATTENTION is not: after a human has closed the
positions, it is resolved to COMPLETED (the trade ran its course) or ERROR (it did not).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    SCHEDULED = "SCHEDULED"
    SYNCING_LEVERAGE = "SYNCING_LEVERAGE"
    OPENING = "OPENING"
    OPEN = "OPEN"
    CLOSING = "CLOSING"
    COMPLETED = "COMPLETED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"
    ERROR = "ERROR"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"


class OrderStatus(StrEnum):
    PENDING = "PENDING"  # persisted, not sent yet
    SENT = "SENT"  # request went out, no answer yet (or the answer was lost)
    FILLED = "FILLED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    REJECTED = "REJECTED"  # the exchange said no
    FAILED = "FAILED"  # never reached the exchange or failed before it accepted
    UNKNOWN = "UNKNOWN"  # in doubt: look it up by client_order_id before doing anything else


_S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.SCHEDULED: frozenset(
        {
            _S.SYNCING_LEVERAGE,  # trigger fired
            _S.CANCELLED,  # user cancelled
            _S.SKIPPED,  # trigger missed, or the funding rate is against our side
            _S.ERROR,  # invalid at trigger (e.g. symbol delisted); nothing was sent
        }
    ),
    _S.SYNCING_LEVERAGE: frozenset(
        {
            _S.OPENING,
            _S.SKIPPED,  # funding check after leverage sync
            _S.ERROR,  # leverage could not be set: no order was sent
        }
    ),
    _S.OPENING: frozenset(
        {
            _S.SCHEDULED,  # stopped before the trigger: the recorded orders were never sent
            _S.SKIPPED,  # the entry deadline passed before the trigger's sends: nothing was sent
            _S.OPEN,
            _S.ERROR,  # one leg failed and the other was unwound (or never filled)
            _S.NEEDS_ATTENTION,  # unwind failed or order state unknown
        }
    ),
    _S.OPEN: frozenset({_S.CLOSING, _S.NEEDS_ATTENTION}),
    _S.CLOSING: frozenset({_S.COMPLETED, _S.NEEDS_ATTENTION}),
    _S.NEEDS_ATTENTION: frozenset({_S.COMPLETED, _S.ERROR}),  # manual resolution
    _S.COMPLETED: frozenset(),
    _S.SKIPPED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.ERROR: frozenset(),
}
del _S

TERMINAL: frozenset[Status] = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
# Statuses the daemon still drives forward (NEEDS_ATTENTION waits for a human instead).
IN_PROGRESS: frozenset[Status] = frozenset(
    {Status.SCHEDULED, Status.SYNCING_LEVERAGE, Status.OPENING, Status.OPEN, Status.CLOSING}
)
# Statuses in which the subscription may hold positions on the exchanges.
HOLDING: frozenset[Status] = frozenset({Status.OPENING, Status.OPEN, Status.CLOSING})
_O = OrderStatus
_OUTCOMES = frozenset({_O.FILLED, _O.PARTIALLY_FILLED, _O.REJECTED, _O.FAILED, _O.UNKNOWN})
# Where an order row may go. A row in doubt is settled by what the exchange reports (a partial fill can still
# complete, a fill may be read again for its fee); a refused or never-sent order stays what it is.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _O.PENDING: _OUTCOMES | {_O.SENT},
    _O.SENT: _OUTCOMES,
    _O.UNKNOWN: _OUTCOMES,
    _O.PARTIALLY_FILLED: frozenset({_O.PARTIALLY_FILLED, _O.FILLED}),
    _O.FILLED: frozenset({_O.FILLED}),
    _O.REJECTED: frozenset({_O.REJECTED}),
    _O.FAILED: frozenset({_O.FAILED}),
}
del _O, _OUTCOMES


class InvalidOrderTransition(ValueError):
    def __init__(self, client_order_id: str, from_status: OrderStatus, to_status: OrderStatus) -> None:
        super().__init__(f"order {client_order_id} cannot go from {from_status} to {to_status}")


def check_order_transition(client_order_id: str, from_status: OrderStatus, to_status: OrderStatus) -> None:
    if OrderStatus(to_status) not in ORDER_TRANSITIONS[OrderStatus(from_status)]:
        raise InvalidOrderTransition(client_order_id, OrderStatus(from_status), OrderStatus(to_status))


# Statuses whose row says why: the transition's reason is stored in `error_message`.
CARRIES_REASON: frozenset[Status] = frozenset({Status.ERROR, Status.NEEDS_ATTENTION, Status.SKIPPED})
# Orders whose outcome is not known yet: they may have reached an exchange and are looked up before anything else.
ORDER_IN_DOUBT: frozenset[OrderStatus] = frozenset({OrderStatus.PENDING, OrderStatus.SENT, OrderStatus.UNKNOWN})


class InvalidTransition(ValueError):
    def __init__(self, from_status: Status, to_status: Status) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[from_status])) or "none: it is final"
        super().__init__(f"cannot go from {from_status} to {to_status} (allowed from {from_status}: {allowed})")
        self.from_status = from_status
        self.to_status = to_status


def can_transition(from_status: Status, to_status: Status) -> bool:
    return Status(to_status) in TRANSITIONS[Status(from_status)]


def check_transition(from_status: Status, to_status: Status) -> None:
    """Raise `InvalidTransition` unless the table allows `from_status → to_status`."""
    if not can_transition(from_status, to_status):
        raise InvalidTransition(Status(from_status), Status(to_status))


def is_terminal(status: Status) -> bool:
    return Status(status) in TERMINAL
