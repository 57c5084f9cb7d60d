"""Honest results: completed subscriptions' realized PnL next to what was expected of them, totalled by group.

Pure. The error is realized − expected, over the subscriptions that carry an estimate (auto-subscribe stores one;
CLI rows have none and count in the realized totals only).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class GroupBy(StrEnum):
    EXCHANGE = "exchange"  # the primary's: where the funding is earned
    SYMBOL = "symbol"
    DAY = "day"  # of the funding instant, UTC


@dataclass(frozen=True)
class Result:
    """One completed subscription's figures (USDT; funding + received, fees + paid)."""

    primary: str
    symbol: str
    funding_time: datetime
    funding: Decimal
    fees: Decimal
    price_pnl: Decimal | None  # None on rows completed before it was stored
    realized: Decimal
    estimate_net: Decimal | None


@dataclass(frozen=True)
class Totals:
    group: str
    subscriptions: int
    funding: Decimal
    fees: Decimal
    price_pnl: Decimal  # of the rows that stored it
    realized: Decimal
    estimated: int  # subscriptions with an estimate
    estimate_net: Decimal  # their expected net
    error: Decimal  # their realized − expected
    absolute_error: Decimal  # Σ |realized − expected|

    @property
    def mean_absolute_error(self) -> Decimal | None:
        return self.absolute_error / self.estimated if self.estimated else None


def group_key(result: Result, by: GroupBy | None) -> str:
    if by is GroupBy.EXCHANGE:
        return result.primary
    if by is GroupBy.SYMBOL:
        return result.symbol
    if by is GroupBy.DAY:
        return result.funding_time.date().isoformat()
    return "all"


def totals(results: Iterable[Result], by: GroupBy | None = None) -> list[Totals]:
    """One row per group, in key order (days oldest first)."""
    groups: dict[str, list[Result]] = {}
    for result in results:
        groups.setdefault(group_key(result, by), []).append(result)
    return [_total(key, groups[key]) for key in sorted(groups)]


def grand_total(rows: Iterable[Totals]) -> Totals:
    rows = list(rows)
    return Totals(
        group="total", subscriptions=sum(r.subscriptions for r in rows), funding=_sum(r.funding for r in rows),
        fees=_sum(r.fees for r in rows), price_pnl=_sum(r.price_pnl for r in rows),
        realized=_sum(r.realized for r in rows), estimated=sum(r.estimated for r in rows),
        estimate_net=_sum(r.estimate_net for r in rows), error=_sum(r.error for r in rows),
        absolute_error=_sum(r.absolute_error for r in rows),
    )


def _total(key: str, results: list[Result]) -> Totals:
    estimated = [r for r in results if r.estimate_net is not None]
    errors = [r.realized - r.estimate_net for r in estimated if r.estimate_net is not None]
    return Totals(
        group=key, subscriptions=len(results), funding=_sum(r.funding for r in results),
        fees=_sum(r.fees for r in results), price_pnl=_sum(r.price_pnl or ZERO for r in results),
        realized=_sum(r.realized for r in results), estimated=len(estimated),
        estimate_net=_sum(r.estimate_net or ZERO for r in estimated), error=_sum(errors),
        absolute_error=_sum(abs(e) for e in errors),
    )


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)
