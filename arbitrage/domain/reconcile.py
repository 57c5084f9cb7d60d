"""Crash recovery's decision: our order rows + what the exchanges say about the unresolved ones → a plan.

A subscription found in OPENING or CLOSING at start was interrupted mid-order. Each order that was in doubt
(PENDING: maybe sent; SENT; UNKNOWN) has been looked up on its exchange by client order id; this module decides,
from those neutral lookups alone, what each row becomes and what must still be sent:

- what a leg holds is what our own orders say: filled opens minus filled closes and unwinds;
- OPENING: both legs hold → resume as OPEN (the larger leg reduced to the smaller, as the pipeline balances);
  one leg holds → unwind it, then ERROR; nothing holds → ERROR;
- CLOSING: nothing holds → COMPLETED; otherwise close what is left (reduce-only), then COMPLETED;
- any order that could not be looked up → NEEDS_ATTENTION naming it, and nothing is sent: acting on half a
  picture could turn a hedged pair into a naked leg.

Pure: no I/O. The recovery service (`arbitrage/services/recovery.py`) gathers the facts and carries out the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.status import ORDER_IN_DOUBT, OrderStatus, Status

# Rows whose outcome the database does not know: they are looked up before anything is decided.
ZERO = Decimal(0)


class LookupOutcome(StrEnum):
    FOUND = "FOUND"  # the exchange has the order and it is done: `filled` executed (0: cancelled/expired unfilled)
    NOT_FOUND = "NOT_FOUND"  # the exchange never received it
    FAILED = "FAILED"  # could not find out (lookups failed, or the order still rests unfilled)


@dataclass(frozen=True)
class Lookup:
    outcome: LookupOutcome
    filled: Decimal = ZERO
    reason: str | None = None

    @classmethod
    def found(cls, filled: Decimal) -> Lookup:
        return cls(LookupOutcome.FOUND, filled)

    @classmethod
    def not_found(cls) -> Lookup:
        return cls(LookupOutcome.NOT_FOUND)

    @classmethod
    def failed(cls, reason: str) -> Lookup:
        return cls(LookupOutcome.FAILED, reason=reason)


@dataclass(frozen=True)
class OrderFact:
    """One order row, as far as the decision needs it."""

    client_order_id: str
    leg: Leg
    purpose: OrderPurpose
    exchange: str
    amount: Decimal
    status: OrderStatus
    filled: Decimal = ZERO
    note: str | None = None  # the row's error_message: what the exchange said (a rejection's code and message)


@dataclass(frozen=True)
class OrderUpdate:
    """How a looked-up row is to be stored."""

    client_order_id: str
    status: OrderStatus
    filled: Decimal
    note: str | None = None  # for the row's error_message


@dataclass(frozen=True)
class Reduction:
    leg: Leg
    amount: Decimal


@dataclass(frozen=True)
class RecoveryPlan:
    """Store `updates`; send `reductions` (reduce-only, `purpose`); if they fill, go to `target`.
    NEEDS_ATTENTION as `target` means: send nothing, tell a human `reason`."""

    updates: tuple[OrderUpdate, ...]
    exposure: Mapping[Leg, Decimal]
    target: Status
    reason: str
    reductions: tuple[Reduction, ...] = ()
    purpose: OrderPurpose | None = None
    in_doubt: tuple[str, ...] = field(default=())  # client order ids that could not be looked up


def plan_recovery(
    status: Status,
    orders: Sequence[OrderFact],
    lookups: Mapping[str, Lookup],
    steps: Mapping[Leg, Decimal] | None = None,
) -> RecoveryPlan:
    """Decide what an interrupted OPENING or CLOSING subscription needs. `lookups` holds one entry per
    ORDER_IN_DOUBT order (a missing one counts as failed); `steps` are the legs' amount steps (used to balance
    uneven opens; without them the difference is reduced unrounded)."""
    if status not in (Status.OPENING, Status.CLOSING):
        raise ValueError(f"only OPENING or CLOSING subscriptions are recovered, not {status}")
    updates = tuple(_update(order, lookups.get(order.client_order_id)) for order in orders
                    if order.status in ORDER_IN_DOUBT)
    resolved = _apply(orders, updates)
    exposure = {leg: open_exposure(resolved, leg) for leg in Leg}
    doubt = [u for u in updates if u.status is OrderStatus.UNKNOWN]
    stage = "opening" if status is Status.OPENING else "closing"
    if doubt:
        named = "; ".join(f"order {u.client_order_id} on {_exchange(orders, u)}: {u.note}" for u in doubt)
        return RecoveryPlan(updates, exposure, Status.NEEDS_ATTENTION,
                            f"daemon restarted while {stage}; could not look up {named}: check these orders "
                            f"and the positions, then close what is left",
                            in_doubt=tuple(u.client_order_id for u in doubt))
    negative = [leg for leg, held in exposure.items() if held < 0]
    if negative:
        return RecoveryPlan(updates, exposure, Status.NEEDS_ATTENTION,
                            f"daemon restarted while {stage}; the orders of the {_legs(negative)} close more than "
                            f"they opened: check the positions")
    if status is Status.OPENING:
        return _plan_opening(resolved, updates, exposure, steps or {})
    return _plan_closing(updates, exposure)


def _plan_opening(
    orders: Sequence[OrderFact], updates: tuple[OrderUpdate, ...], exposure: dict[Leg, Decimal],
    steps: Mapping[Leg, Decimal],
) -> RecoveryPlan:
    holding = [leg for leg in Leg if exposure[leg] > 0]
    if not holding:
        filled_any = any(o.purpose is OrderPurpose.OPEN and o.filled > 0 for o in orders)
        what = "the filled legs were already unwound" if filled_any else "no order filled, nothing to unwind"
        return RecoveryPlan(updates, exposure, Status.ERROR,
                            f"daemon restarted while opening: {what}{_missing(orders)}")
    if len(holding) == 1:
        [leg] = holding
        return RecoveryPlan(updates, exposure, Status.ERROR,
                            f"daemon restarted while opening: only the {leg.lower()} leg filled{_missing(orders)}",
                            reductions=(Reduction(leg, exposure[leg]),), purpose=OrderPurpose.UNWIND)
    difference = exposure[Leg.PRIMARY] - exposure[Leg.HEDGE]
    larger = Leg.PRIMARY if difference > 0 else Leg.HEDGE
    step = steps.get(larger)
    excess = abs(difference) // step * step if step else abs(difference)
    reductions = (Reduction(larger, excess),) if excess > 0 else ()
    return RecoveryPlan(updates, exposure, Status.OPEN, "daemon restarted while opening: both legs filled",
                        reductions=reductions, purpose=OrderPurpose.UNWIND if reductions else None)


def _plan_closing(updates: tuple[OrderUpdate, ...], exposure: dict[Leg, Decimal]) -> RecoveryPlan:
    left = tuple(Reduction(leg, held) for leg, held in exposure.items() if held > 0)
    if not left:
        return RecoveryPlan(updates, exposure, Status.COMPLETED,
                            "daemon restarted while closing: the closes had filled, both legs are flat")
    return RecoveryPlan(updates, exposure, Status.COMPLETED,
                        f"daemon restarted while closing: the {_legs([r.leg for r in left])} "
                        f"{'are' if len(left) == 2 else 'is'} still open",
                        reductions=left, purpose=OrderPurpose.CLOSE)


def _update(order: OrderFact, lookup: Lookup | None) -> OrderUpdate:
    if lookup is None:
        return OrderUpdate(order.client_order_id, OrderStatus.UNKNOWN, order.filled, "not looked up")
    if lookup.outcome is LookupOutcome.NOT_FOUND:
        return OrderUpdate(order.client_order_id, OrderStatus.FAILED, ZERO,
                           f"{order.exchange}: order not received by the exchange (looked up after a restart)")
    if lookup.outcome is LookupOutcome.FAILED:
        return OrderUpdate(order.client_order_id, OrderStatus.UNKNOWN, order.filled, lookup.reason or "lookup failed")
    if lookup.filled <= 0:
        return OrderUpdate(order.client_order_id, OrderStatus.REJECTED, ZERO,
                           f"{order.exchange}: order ended without a fill (looked up after a restart)")
    status = OrderStatus.FILLED if lookup.filled >= order.amount else OrderStatus.PARTIALLY_FILLED
    return OrderUpdate(order.client_order_id, status, lookup.filled)


def _apply(orders: Sequence[OrderFact], updates: Iterable[OrderUpdate]) -> list[OrderFact]:
    by_id = {u.client_order_id: u for u in updates}
    return [
        OrderFact(o.client_order_id, o.leg, o.purpose, o.exchange, o.amount, by_id[o.client_order_id].status,
                  by_id[o.client_order_id].filled, by_id[o.client_order_id].note) if o.client_order_id in by_id else o
        for o in orders
    ]


class FilledOrder(Protocol):
    """An order as exposure needs it: an `OrderFact`, or an order row."""

    leg: Leg
    purpose: OrderPurpose
    filled: Decimal


def open_exposure(orders: Iterable[FilledOrder], leg: Leg) -> Decimal:
    """What a leg holds according to our own orders: filled opens minus filled closes and unwinds."""
    return sum((o.filled if o.purpose is OrderPurpose.OPEN else -o.filled for o in orders if o.leg is leg), ZERO)


def _missing(orders: Sequence[OrderFact]) -> str:
    """`` (hedge order on bybit: not received by the exchange)`` for the opens that did not fill."""
    unfilled = [f"{o.leg.lower()} order on {o.exchange}: {_why_unfilled(o)}"
                for o in orders if o.purpose is OrderPurpose.OPEN and o.filled <= 0]
    return f" ({'; '.join(unfilled)})" if unfilled else ""


def _why_unfilled(order: OrderFact) -> str:
    if order.status is OrderStatus.FAILED:
        return "never reached the exchange"
    if order.status is OrderStatus.REJECTED:
        return f"rejected: {order.note}" if order.note else "rejected or ended without a fill"
    return order.status.lower()


def _legs(legs: Sequence[Leg]) -> str:
    return "primary and hedge legs" if len(legs) == 2 else f"{legs[0].lower()} leg"


def _exchange(orders: Sequence[OrderFact], update: OrderUpdate) -> str:
    return next(o.exchange for o in orders if o.client_order_id == update.client_order_id)
