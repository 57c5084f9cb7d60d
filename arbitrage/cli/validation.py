"""Parsing of `arbitrage subscribe` input: pure (no network, no database), so that a bad input is refused
before anything is written, and so that every rule is one row of a table test. The request it builds and the
timing rules are in `arbitrage.domain.subscription_request`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from arbitrage.domain import EXCHANGE_IDS, Side, UnknownExchange, normalize_exchange_id
from arbitrage.domain.hedge_pair import hedge_problem, settlement_problem
from arbitrage.domain.subscription_request import InputError, NewSubscription, check_minimum_lead, check_timing

MAX_LEVERAGE = 125
# Far above any exchange's maximum order size, and well inside Decimal's 28 digits when rounded to a step.
MAX_AMOUNT = 10**9
AMOUNT_DECIMALS = 18  # the database's scale
# ccxt unified linear perpetual: BASE/QUOTE:SETTLE (a dated future would end in -YYMMDD).
_PERPETUAL = re.compile(r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+):(?P<settle>[A-Z0-9]+)$")
FUNDING_TIME_EXAMPLE = "2026-11-22T08:00:00Z"

# Given (exchange, symbol), the exchange's next funding time if known. The markets issue plugs one in so that
# --funding-time becomes optional.
FundingTimeResolver = Callable[[str, str], datetime | None]


@dataclass(frozen=True)
class SubscribeInput:
    """The raw strings as typed by the user (None: option not given)."""

    primary: str
    hedge: str
    side: str
    amount: str
    symbol: str | None = None
    primary_symbol: str | None = None
    hedge_symbol: str | None = None
    leverage: str | None = None
    funding_time: str | None = None
    lead_seconds: str | None = None


def _no_resolver(_exchange: str, _symbol: str) -> datetime | None:
    return None


def validate_subscribe(
    raw: SubscribeInput,
    *,
    now: datetime,
    default_lead_seconds: int,
    min_lead_seconds: Mapping[str, int],
    resolve_funding_time: FundingTimeResolver = _no_resolver,
    require_funding_time: bool = True,
) -> NewSubscription:
    """Check every option that can be checked offline; raise `InputError` on the first problem. With
    `require_funding_time=False` a missing --funding-time is left None (and its timing unchecked) for the caller."""
    primary = parse_exchange("--primary", raw.primary)
    hedge = parse_exchange("--hedge", raw.hedge)
    if primary == hedge:
        raise InputError("--hedge", f"must differ from --primary (both are {primary})")
    primary_symbol, hedge_symbol = _leg_symbols(raw)
    side = parse_side(raw.side)
    amount = parse_amount(raw.amount)
    leverage = parse_leverage(raw.leverage) if raw.leverage is not None else None

    minimum = min_lead_seconds.get(primary, 0)
    if raw.lead_seconds is None:
        lead_seconds = max(default_lead_seconds, minimum)
    else:
        lead_seconds = parse_lead_seconds(raw.lead_seconds)
        check_minimum_lead(primary, lead_seconds, minimum)

    funding_time: datetime | None
    if raw.funding_time is not None:
        funding_time = parse_funding_time(raw.funding_time)
    else:
        funding_time = resolve_funding_time(primary, primary_symbol)
        if funding_time is None and require_funding_time:
            raise InputError("--funding-time", f"required, e.g. --funding-time {FUNDING_TIME_EXAMPLE}")
    if funding_time is not None:
        check_timing(funding_time, lead_seconds, now)

    return NewSubscription(
        primary_exchange=primary,
        primary_symbol=primary_symbol,
        hedge_exchange=hedge,
        hedge_symbol=hedge_symbol,
        side=side,
        amount=amount,
        leverage=leverage,
        funding_time=funding_time,
        lead_seconds=lead_seconds,
    )


def parse_exchange(option: str, value: str) -> str:
    try:
        return normalize_exchange_id(value)
    except UnknownExchange:
        raise InputError(option, f"unknown exchange {value!r} (choose from {', '.join(EXCHANGE_IDS)})") from None


def _leg_symbols(raw: SubscribeInput) -> tuple[str, str]:
    primary = raw.primary_symbol or raw.symbol
    hedge = raw.hedge_symbol or raw.symbol
    if primary is None or hedge is None:
        raise InputError("--symbol", "required (or give both --primary-symbol and --hedge-symbol)")
    primary_option = "--primary-symbol" if raw.primary_symbol else "--symbol"
    hedge_option = "--hedge-symbol" if raw.hedge_symbol else "--symbol"
    primary_symbol, hedge_symbol = parse_symbol(primary_option, primary), parse_symbol(hedge_option, hedge)
    problem = hedge_problem(primary_symbol, hedge_symbol)
    if problem is not None:
        raise InputError(hedge_option if raw.hedge_symbol else primary_option, problem)
    return primary_symbol, hedge_symbol


def parse_symbol(option: str, value: str) -> str:
    symbol = value.strip().upper()
    match = _PERPETUAL.match(symbol)
    if match is None:
        raise InputError(option, f"{value!r} is not a unified perpetual symbol like BTC/USDT:USDT")
    if match["settle"] != match["quote"]:
        raise InputError(option, f"{value!r} is not linear: it must settle in its quote currency, like BTC/USDT:USDT")
    problem = settlement_problem(symbol)
    if problem is not None:
        raise InputError(option, problem)
    return symbol


def parse_side(value: str) -> Side:
    try:
        return Side(value.strip().upper())
    except ValueError:
        raise InputError("--side", f"must be long or short, not {value!r}") from None


def parse_amount(value: str) -> Decimal:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise InputError("--amount", f"must be a number of base units (e.g. 0.01), not {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise InputError("--amount", f"must be greater than 0, not {value!r}")
    if amount > MAX_AMOUNT:
        raise InputError("--amount", f"{value!r} is far larger than any exchange accepts (at most {MAX_AMOUNT:,})")
    if -amount.normalize().as_tuple().exponent > AMOUNT_DECIMALS:  # type: ignore[operator]
        raise InputError("--amount", f"{value!r} has more than {AMOUNT_DECIMALS} decimal places")
    return amount


def parse_leverage(value: str) -> int | Literal["max"]:
    """1..125, or 'max': the highest leverage both exchanges allow for the position, resolved at the trigger."""
    if value.strip().lower() == "max":
        return "max"
    problem = f"must be a whole number from 1 to {MAX_LEVERAGE} or 'max', not {value!r}"
    try:
        leverage = int(value.strip())
    except ValueError:
        raise InputError("--leverage", problem) from None
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise InputError("--leverage", problem)
    return leverage


def parse_lead_seconds(value: str) -> int:
    try:
        lead = int(value.strip())
    except ValueError:
        lead = -1
    if lead < 0:
        raise InputError("--lead-seconds", f"must be a whole number of seconds >= 0, not {value!r}")
    return lead


def parse_funding_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError("--funding-time", f"{value!r} is not an ISO-8601 time like {FUNDING_TIME_EXAMPLE}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InputError(
            "--funding-time", f"{value!r} has no UTC offset; add one, e.g. {FUNDING_TIME_EXAMPLE} or +00:00"
        )
    return parsed.astimezone(UTC)
