"""Leverage: parse the user's request, find each exchange's cap for a notional, resolve what to apply.

One tier model serves every venue: Binance brackets (notionalFloor/notionalCap), Bybit risk-limit tiers
(floor = previous tier's riskLimitValue), and venues with a single per-market maximum (BingX, MEXC) expressed
as one unbounded tier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, TypeAlias

from arbitrage.domain.errors import LeverageError
from arbitrage.domain.venues import VENUES

MAX_KEYWORD: Literal["max"] = "max"
MIN_LEVERAGE = 1
MAX_LEVERAGE = 125  # the highest any supported venue offers; anything above is a typo

LeverageRequest: TypeAlias = int | Literal["max"]

# Documented venue maxima, used only when the exchange cannot report tiers for the market.
DEFAULT_MAX_LEVERAGE: Mapping[str, int] = MappingProxyType(
    {venue.id: venue.default_max_leverage for venue in VENUES.values()}
)


@dataclass(frozen=True, slots=True)
class LeverageTier:
    """Positions with ``notional_floor <= notional < notional_cap`` may use up to ``max_leverage``."""

    notional_floor: Decimal
    notional_cap: Decimal | None  # None = unbounded
    max_leverage: int
    maint_margin_rate: Decimal | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.notional_floor, Decimal) or self.notional_floor < 0:
            raise LeverageError(f"leverage tier floor {self.notional_floor!r} must be a Decimal >= 0")
        if self.notional_cap is not None and (
            not isinstance(self.notional_cap, Decimal) or self.notional_cap <= self.notional_floor
        ):
            raise LeverageError(
                f"leverage tier cap {self.notional_cap!r} must be a Decimal above its floor {self.notional_floor}"
            )
        if isinstance(self.max_leverage, bool) or not isinstance(self.max_leverage, int) or self.max_leverage < 1:
            raise LeverageError(f"leverage tier maximum {self.max_leverage!r} must be an integer >= 1")

    def contains(self, notional: Decimal) -> bool:
        return self.notional_floor <= notional and (self.notional_cap is None or notional < self.notional_cap)


@dataclass(frozen=True, slots=True)
class LeverageResolution:
    requested: LeverageRequest  # after applying the default
    applied: int
    capped: bool
    limiting_exchange: str | None  # whose maximum decided `applied` ("a and b" when both share it)
    reason: str | None


def single_tier(max_leverage: int) -> tuple[LeverageTier, ...]:
    """The tier table of a venue that has one maximum per market (BingX, MEXC, or a documented default)."""
    return (LeverageTier(notional_floor=Decimal(0), notional_cap=None, max_leverage=max_leverage),)


def default_max_leverage(exchange: str) -> int:
    try:
        return DEFAULT_MAX_LEVERAGE[exchange]
    except KeyError:
        known = ", ".join(DEFAULT_MAX_LEVERAGE)
        raise LeverageError(f"no default maximum leverage for exchange {exchange!r}; use one of {known}") from None


def max_leverage_for_notional(
    tiers: Iterable[LeverageTier],
    notional: Decimal,
    *,
    exchange: str = "the exchange",
    symbol: str = "",
) -> int:
    """The maximum leverage of the tier that contains ``notional`` (floor <= notional < cap).

    Tiers may come in any order. A notional below the first floor uses the first tier; a notional in a gap
    between tiers uses the next (more restrictive) tier; a notional at or above the last cap is rejected,
    as the exchange would reject such a position.
    """
    where = f"{symbol} on {exchange}" if symbol else exchange
    ordered = _validated(tiers, where)
    if not isinstance(notional, Decimal) or not notional.is_finite() or notional < 0:
        raise LeverageError(f"position notional {notional} for {where} must be a Decimal >= 0")
    for tier in ordered:
        if tier.notional_cap is None or notional < tier.notional_cap:
            return tier.max_leverage
    largest_cap = ordered[-1].notional_cap
    raise LeverageError(
        f"position notional {_fmt(notional)} exceeds the largest tier (cap {_fmt(largest_cap)}) for {where}; "
        "lower --amount"
    )


def parse_leverage(text: str | int | None) -> LeverageRequest | None:
    """``None`` -> None (use the default); an integer 1..125 (``"10"``, ``"10x"``, ``10``) or ``"max"`` (any case)."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise LeverageError(f"leverage {text!r} is not valid; use an integer {MIN_LEVERAGE}..{MAX_LEVERAGE} or 'max'")
    if isinstance(text, int):
        return _checked_int(text, shown=str(text))
    if not isinstance(text, str):
        raise LeverageError(f"leverage {text!r} is not valid; use an integer {MIN_LEVERAGE}..{MAX_LEVERAGE} or 'max'")
    cleaned = text.strip().lower()
    if cleaned == MAX_KEYWORD:
        return MAX_KEYWORD
    digits = cleaned.removesuffix("x")
    if not digits.isascii() or not digits.isdigit():
        raise LeverageError(
            f"leverage {text!r} is not valid; use an integer {MIN_LEVERAGE}..{MAX_LEVERAGE} (e.g. 3) or 'max'"
        )
    return _checked_int(int(digits), shown=text)


def resolve_leverage(
    requested: LeverageRequest | None,
    default: LeverageRequest,
    primary_max: int,
    hedge_max: int,
    primary_exchange: str,
    hedge_exchange: str,
) -> LeverageResolution:
    """What to set on both legs: the subscription's request, else the default, capped by both exchanges.

    ``"max"`` means the highest leverage both exchanges allow for this position (min of the two maxima).
    """
    effective = _normalized_request(requested if requested is not None else default)
    for exchange, maximum in ((primary_exchange, primary_max), (hedge_exchange, hedge_max)):
        if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < MIN_LEVERAGE:
            raise LeverageError(f"maximum leverage {maximum!r} reported by {exchange} must be an integer >= 1")
    both_max = min(primary_max, hedge_max)
    limiting = _limiting_exchange(primary_max, hedge_max, primary_exchange, hedge_exchange)
    if isinstance(effective, str):  # only "max" parses to a string
        return LeverageResolution(
            requested=MAX_KEYWORD,
            applied=both_max,
            capped=False,
            limiting_exchange=limiting,
            reason=f"leverage 'max' resolved to {both_max} (limit on {limiting})",
        )
    if effective <= both_max:
        return LeverageResolution(effective, effective, capped=False, limiting_exchange=None, reason=None)
    return LeverageResolution(
        requested=effective,
        applied=both_max,
        capped=True,
        limiting_exchange=limiting,
        reason=f"leverage capped from {effective} to {both_max} (limit on {limiting})",
    )


def _validated(tiers: Iterable[LeverageTier], where: str) -> list[LeverageTier]:
    ordered = sorted(tiers, key=lambda tier: tier.notional_floor)
    if not ordered:
        raise LeverageError(f"no leverage tiers known for {where}; reload the markets")
    for lower, upper in zip(ordered, ordered[1:], strict=False):
        if lower.notional_cap is None or lower.notional_cap > upper.notional_floor:
            raise LeverageError(
                f"leverage tiers for {where} overlap (tier {_fmt(lower.notional_floor)}..{_fmt(lower.notional_cap)} "
                f"and tier from {_fmt(upper.notional_floor)}); reload the markets"
            )
    return ordered


def _normalized_request(value: LeverageRequest) -> LeverageRequest:
    parsed = parse_leverage(value)
    if parsed is None:  # unreachable for non-None input; keeps the type checker honest
        raise LeverageError("leverage is missing; pass --leverage or set ARBITRAGE_DEFAULT_LEVERAGE")
    return parsed


def _checked_int(value: int, *, shown: str) -> int:
    if not MIN_LEVERAGE <= value <= MAX_LEVERAGE:
        raise LeverageError(
            f"leverage {shown} is out of range; use an integer {MIN_LEVERAGE}..{MAX_LEVERAGE} or 'max'"
        )
    return value


def _limiting_exchange(primary_max: int, hedge_max: int, primary_exchange: str, hedge_exchange: str) -> str:
    if primary_max == hedge_max:
        return f"{primary_exchange} and {hedge_exchange}"
    return primary_exchange if primary_max < hedge_max else hedge_exchange


def _fmt(value: Decimal | None) -> str:
    return "unbounded" if value is None else format(value.normalize(), "f")
