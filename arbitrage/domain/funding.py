"""Funding: the UTC funding grid, when to enter, whether the rate pays our side, signs, and realized PnL.

Sign convention used everywhere in this project: a positive funding rate means LONGS PAY and SHORTS RECEIVE;
funding amounts are ``+`` received / ``-`` paid; fees are ``+`` paid.

"Nothing is ever traded late": an entry is never started at or after :func:`entry_deadline`, i.e.
``funding_time - max(each exchange's minimum entry lead, safety margin)``. A trigger missed while the daemon
was down still runs if it is before that deadline (there is still time to be in the position when the
exchanges snapshot it); otherwise the subscription is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from arbitrage.domain import Side
from arbitrage.domain.errors import ValidationError
from arbitrage.domain.venues import VENUES

DEFAULT_ENTRY_SAFETY_MARGIN_SECONDS = 1.0

# Multiply the amount a venue reports (as ccxt passes it through) to get + received / - paid.
FUNDING_AMOUNT_SIGN: Mapping[str, int] = MappingProxyType(
    {venue.id: venue.funding_amount_sign for venue in VENUES.values()}
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ClosedLeg:
    """One leg's position side, size (base units) and average entry/exit prices."""

    side: Side
    amount: Decimal
    entry_price: Decimal
    exit_price: Decimal

    def __post_init__(self) -> None:
        _position_sign(self.side)
        for name in ("amount", "entry_price", "exit_price"):
            value = getattr(self, name)
            _require_decimal(name, value)
            if value < 0:
                raise ValidationError(f"{name} {value} of a {self.side} leg must not be negative")


def next_funding_time(now: datetime, interval_hours: int = 8, anchor_hour: int = 0) -> datetime:
    """The first funding boundary strictly after ``now`` on the UTC grid ``anchor_hour + k * interval_hours``.

    8 h: 00/08/16 UTC; 4 h: 00/04/.../20; 1 h: every hour. ``now`` exactly on a boundary gives the next one.
    """
    _require_aware("now", now)
    if isinstance(interval_hours, bool) or not isinstance(interval_hours, int) or not 1 <= interval_hours <= 24:
        raise ValidationError(f"funding interval {interval_hours!r} h must be an integer between 1 and 24")
    if isinstance(anchor_hour, bool) or not isinstance(anchor_hour, int) or not 0 <= anchor_hour <= 23:
        raise ValidationError(f"funding anchor hour {anchor_hour!r} must be an integer between 0 and 23")
    origin = _EPOCH + timedelta(hours=anchor_hour)
    interval = timedelta(hours=interval_hours)
    periods_elapsed = (now.astimezone(UTC) - origin) // interval
    return origin + (periods_elapsed + 1) * interval


def effective_lead_seconds(
    subscription_lead: float | None,
    default_lead: float,
    exchange_min_leads: Iterable[float],
) -> float:
    """How long before funding to enter: the largest of the subscription's lead, the default lead and every
    exchange's minimum entry lead (the default is a floor, so a subscription can only ask for MORE time)."""
    leads = [default_lead, *exchange_min_leads]
    if subscription_lead is not None:
        leads.append(subscription_lead)
    for lead in leads:
        _require_lead(lead)
    return float(max(leads))


def trigger_time(funding_time: datetime, effective_lead: float) -> datetime:
    """When the subscription's job fires: ``effective_lead`` seconds before funding."""
    _require_aware("funding_time", funding_time)
    _require_lead(effective_lead)
    return funding_time.astimezone(UTC) - timedelta(seconds=effective_lead)


def entry_deadline(
    funding_time: datetime,
    exchange_min_leads: Iterable[float] = (),
    safety_margin_seconds: float = DEFAULT_ENTRY_SAFETY_MARGIN_SECONDS,
) -> datetime:
    """The instant from which no entry order may be sent for this funding time."""
    _require_aware("funding_time", funding_time)
    leads = [safety_margin_seconds, *exchange_min_leads]
    for lead in leads:
        _require_lead(lead)
    return funding_time.astimezone(UTC) - timedelta(seconds=max(leads))


def opened_too_late(executed_at: datetime, funding_time: datetime, exchange_min_lead: float = 0) -> bool:
    """True when a position opened at ``executed_at`` (the exchange's time) earns nothing at ``funding_time``:
    at or after the funding instant, or inside the exchange's minimum lead (BingX ignores the last 30 s)."""
    _require_aware("executed_at", executed_at)
    _require_aware("funding_time", funding_time)
    _require_lead(exchange_min_lead)
    return executed_at >= funding_time - timedelta(seconds=exchange_min_lead)


def should_skip_missed(
    now: datetime,
    funding_time: datetime,
    exchange_min_leads: Iterable[float] = (),
    safety_margin_seconds: float = DEFAULT_ENTRY_SAFETY_MARGIN_SECONDS,
) -> bool:
    """True when it is too late to enter for ``funding_time`` (``now`` at or after :func:`entry_deadline`).

    Deliberately uses the exchanges' minimum leads, not the subscription's effective lead: a trigger that
    fired late (daemon restart, scheduler misfire) still runs while the exchanges would count the position.
    """
    _require_aware("now", now)
    return now >= entry_deadline(funding_time, exchange_min_leads, safety_margin_seconds)


def side_receipt_rate(side: Side, rate: Decimal) -> Decimal:
    """The rate ``side`` receives (negative = pays): shorts receive a positive rate, longs a negative one."""
    return rate * _receipt_sign(side)


def funding_favours_side(rate: Decimal, side: Side, min_rate: Decimal = Decimal(0)) -> bool:
    """Proceed only if ``side`` strictly RECEIVES funding and receives at least ``min_rate``.

    A rate of exactly 0 pays nothing, so it never favours a side, even with ``min_rate`` 0.
    """
    _require_decimal("funding rate", rate)
    _require_decimal("minimum funding rate", min_rate)
    if min_rate < 0:
        raise ValidationError(f"minimum funding rate {min_rate} must not be negative; use 0 or a positive rate")
    receipt = side_receipt_rate(side, rate)
    return receipt > 0 and receipt >= min_rate


def expected_funding(side: Side, amount_base: Decimal, mark_price: Decimal, rate: Decimal) -> Decimal:
    """Funding ``side`` should get for a position of ``amount_base`` at ``mark_price``: + received / - paid."""
    _require_decimal("amount", amount_base)
    _require_decimal("mark price", mark_price)
    _require_decimal("funding rate", rate)
    if amount_base < 0 or mark_price < 0:
        raise ValidationError(f"amount {amount_base} and mark price {mark_price} must not be negative")
    return amount_base * mark_price * side_receipt_rate(side, rate)


def normalize_funding_amount(exchange: str, raw_amount: Decimal) -> Decimal:
    """Turn the funding amount an exchange reports (via ccxt) into + received / - paid."""
    _require_decimal("funding amount", raw_amount)
    try:
        sign = FUNDING_AMOUNT_SIGN[exchange]
    except KeyError:
        known = ", ".join(FUNDING_AMOUNT_SIGN)
        raise ValidationError(
            f"unknown funding sign convention for exchange {exchange!r}; use one of {known}"
        ) from None
    return raw_amount * sign


def leg_price_pnl(leg: ClosedLeg) -> Decimal:
    """(exit - entry) x amount, positive for a long that rose or a short that fell."""
    return (leg.exit_price - leg.entry_price) * leg.amount * _position_sign(leg.side)


def realized_pnl(legs: Iterable[ClosedLeg], funding: Decimal, fees: Decimal) -> Decimal:
    """Sum of the legs' price PnL + funding (+ received) - fees (+ paid)."""
    _require_decimal("funding", funding)
    _require_decimal("fees", fees)
    return sum((leg_price_pnl(leg) for leg in legs), Decimal(0)) + funding - fees


def _position_sign(side: Side | str) -> int:
    normalized = str(side).upper()  # plain "long"/"SHORT" strings are accepted too
    if normalized == "LONG":
        return 1
    if normalized == "SHORT":
        return -1
    raise ValidationError(f"side {side!r} is not valid; use LONG or SHORT")


def _receipt_sign(side: Side) -> int:
    return -_position_sign(side)


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} {value!r} must be a timezone-aware datetime (UTC)")


def _require_lead(seconds: float) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        raise ValidationError(f"lead {seconds!r} s must be a finite number of seconds >= 0")


def _require_decimal(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(f"{name} {value!r} must be a finite Decimal")


def share_of_payment(payment: Decimal, own_position: Decimal, net_position: Decimal) -> Decimal:
    """A subscription's part of one funding payment that covered the account's whole NET position.

    Positions are signed base amounts (+ long, - short) held at the funding instant. Several subscriptions on one
    one-way account and symbol share a single payment; each gets `payment × own / net`, so the parts add up to
    the payment and a long's part has the opposite sign of a short's.
    """
    if net_position == 0:
        return Decimal(0)
    return payment * own_position / net_position
