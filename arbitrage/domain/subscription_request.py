"""A new subscription as requested, and the rules about its timing that hold before anything is stored.

A refused request is an `InputError` naming the option to change, so that the command prints
`error: <option>: <problem>` whichever check refused it (offline validation or the checks against the markets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from arbitrage.domain import Side


class InputError(ValueError):
    """One bad option: printed as `error: <option>: <problem>`, exit code 2."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}")
        self.option = option
        self.problem = problem


@dataclass(frozen=True)
class NewSubscription:
    primary_exchange: str
    primary_symbol: str
    hedge_exchange: str
    hedge_symbol: str
    side: Side
    amount: Decimal
    leverage: int | Literal["max"] | None
    funding_time: datetime | None  # None only with require_funding_time=False: the caller resolves it
    lead_seconds: int


def check_minimum_lead(primary_exchange: str, lead_seconds: int, minimum: int) -> None:
    if lead_seconds < minimum:
        raise InputError(
            "--lead-seconds",
            f"{primary_exchange} needs at least {minimum} s before funding (positions opened later do not receive "
            f"it); use --lead-seconds {minimum} or more",
        )


def check_timing(funding_time: datetime, lead_seconds: int, now: datetime) -> None:
    if funding_time <= now:
        raise InputError("--funding-time", f"{funding_time.isoformat()} is not in the future")
    if funding_time - timedelta(seconds=lead_seconds) <= now:
        raise InputError(
            "--funding-time",
            f"{funding_time.isoformat()} is too close: positions open {lead_seconds} s before it, which has passed",
        )
