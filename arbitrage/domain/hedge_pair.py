"""Whether two perpetual listings hedge each other: the same coin, margined and settled in USDT.

Exchanges list small-priced coins with a multiplier in the name (`1000PEPE` is 1000 PEPE per unit, Bybit's
`SHIB1000` likewise). Such a pair is the same asset only with the amounts converted, and a subscription holds one
amount for both legs, so it is refused rather than hedged 1000:1 wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SETTLEMENT = "USDT"
# 1000PEPE, 10000SATS, 1000000MOG; SHIB1000. A multiplier is a power of ten of at least 100.
_PREFIX_MULTIPLIER = re.compile(r"^(?P<multiplier>10{2,})(?P<asset>[A-Z][A-Z0-9]*)$")
_SUFFIX_MULTIPLIER = re.compile(r"^(?P<asset>[A-Z][A-Z0-9]*?[A-Z])(?P<multiplier>10{2,})$")


@dataclass(frozen=True)
class Listing:
    base: str  # as listed, e.g. 1000PEPE
    quote: str
    settle: str
    asset: str  # the coin itself, e.g. PEPE
    multiplier: int  # coins per unit of the listing


def parse_listing(symbol: str) -> Listing:
    """`BASE/QUOTE:SETTLE` (already upper-case and checked for that shape)."""
    pair, settle = symbol.split(":", 1)
    base, quote = pair.split("/", 1)
    asset, multiplier = base, 1
    for pattern in (_PREFIX_MULTIPLIER, _SUFFIX_MULTIPLIER):
        match = pattern.match(base)
        if match:
            asset, multiplier = match["asset"], int(match["multiplier"])
            break
    return Listing(base=base, quote=quote, settle=settle, asset=asset, multiplier=multiplier)


def settlement_problem(symbol: str) -> str | None:
    settle = parse_listing(symbol).settle
    if settle != SETTLEMENT:
        return f"{symbol} settles in {settle}; only {SETTLEMENT}-margined perpetuals are supported"
    return None


def hedge_problem(primary_symbol: str, hedge_symbol: str) -> str | None:
    """Why the hedge leg does not offset the primary (None: it does)."""
    primary, hedge = parse_listing(primary_symbol), parse_listing(hedge_symbol)
    if primary.asset != hedge.asset:
        return (
            f"{hedge_symbol} is not the same coin as {primary_symbol} ({hedge.asset} vs {primary.asset}): the hedge "
            "must hold the same asset, or the position is not hedged"
        )
    if primary.multiplier != hedge.multiplier:
        return (
            f"{hedge_symbol} counts {hedge.multiplier} {hedge.asset} per unit and {primary_symbol} "
            f"{primary.multiplier}: one --amount cannot size both legs; pick listings with the same multiplier"
        )
    return None
