"""Auto-subscribe rules: which of the scanner's opportunities to subscribe to, and why each other one is not.

Pure: the caller passes the opportunities (best first), the live subscriptions and the rules. Candidates are taken
in order of expected net; every cap counts the live subscriptions of the same funding instant plus the candidates
accepted before it, so that the best opportunities get the room. A rejected candidate carries every rule it
breaks, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from arbitrage.domain.opportunity import Opportunity


@dataclass(frozen=True)
class AutoRules:
    min_net_bps: Decimal
    notional_usdt: Decimal  # of each subscription
    max_per_instant: int
    max_per_exchange: int  # per instant; an exchange counts whether it is the primary or the hedge
    max_per_symbol: int  # per instant
    max_notional_per_exchange: Decimal  # per instant, both legs' exchanges
    exchanges: frozenset[str] = frozenset()  # empty: any
    symbols: frozenset[str] = frozenset()  # empty: any


@dataclass(frozen=True)
class LiveSubscription:
    """A subscription of an instant, as the caps see it: one that may hold exposure counts against every cap; a
    finished one (cancelled by the user, failed, done) only keeps its pair from being subscribed again."""

    symbol: str
    primary: str
    hedge: str
    funding_time: datetime
    notional_usdt: Decimal
    holds: bool = True

    @property
    def exchanges(self) -> tuple[str, str]:
        return (self.primary, self.hedge)


@dataclass(frozen=True)
class Decision:
    opportunity: Opportunity
    reasons: tuple[str, ...] = ()  # empty: subscribe

    @property
    def accepted(self) -> bool:
        return not self.reasons


@dataclass
class _Instant:
    count: int = 0
    per_exchange: dict[str, int] = field(default_factory=dict)
    per_symbol: dict[str, int] = field(default_factory=dict)
    notional: dict[str, Decimal] = field(default_factory=dict)
    pairs: set[tuple[str, frozenset[str]]] = field(default_factory=set)

    def add(self, symbol: str, exchanges: tuple[str, str], notional: Decimal) -> None:
        self.count += 1
        self.per_symbol[symbol] = self.per_symbol.get(symbol, 0) + 1
        for exchange in exchanges:
            self.per_exchange[exchange] = self.per_exchange.get(exchange, 0) + 1
            self.notional[exchange] = self.notional.get(exchange, Decimal(0)) + notional
        self.pairs.add((symbol, frozenset(exchanges)))


class AutoBook:
    """What each instant already holds; `take` an opportunity once its subscription exists."""

    def __init__(self, rules: AutoRules, live: Iterable[LiveSubscription]) -> None:
        self.rules = rules
        self._instants: dict[datetime, _Instant] = {}
        for subscription in live:
            instant = self._instant(subscription.funding_time)
            if subscription.holds:
                instant.add(subscription.symbol, subscription.exchanges, subscription.notional_usdt)
            else:
                instant.pairs.add((subscription.symbol, frozenset(subscription.exchanges)))

    def reasons(self, opportunity: Opportunity) -> tuple[str, ...]:
        """Every rule the opportunity breaks; empty: subscribe."""
        return tuple(_reasons(opportunity, self._instant(opportunity.funding_time), self.rules))

    def take(self, opportunity: Opportunity) -> None:
        self._instant(opportunity.funding_time).add(
            opportunity.symbol, (opportunity.primary, opportunity.hedge), opportunity.notional_usdt
        )

    def _instant(self, funding_time: datetime) -> _Instant:
        return self._instants.setdefault(funding_time, _Instant())


def decide(
    opportunities: Sequence[Opportunity], live: Iterable[LiveSubscription], rules: AutoRules
) -> list[Decision]:
    """One decision per opportunity, in the order given (the scanner's: best net first), as if every accepted one
    were created."""
    book = AutoBook(rules, live)
    decisions = []
    for opportunity in opportunities:
        decision = Decision(opportunity, book.reasons(opportunity))
        if decision.accepted:
            book.take(opportunity)
        decisions.append(decision)
    return decisions


def _reasons(opportunity: Opportunity, instant: _Instant, rules: AutoRules) -> Iterable[str]:
    legs = (opportunity.primary, opportunity.hedge)
    if opportunity.blocked_reason:
        yield f"blocked: {opportunity.blocked_reason}"
    if not opportunity.spread_known:
        yield "spread unknown: the order books were not read (a subscription is never made on a guess)"
    outside = [exchange for exchange in legs if rules.exchanges and exchange not in rules.exchanges]
    if outside:
        yield f"exchange not allowed: {', '.join(outside)}"
    if rules.symbols and opportunity.symbol not in rules.symbols:
        yield f"symbol not allowed: {opportunity.symbol}"
    if opportunity.net_bps < rules.min_net_bps:
        yield f"expected net {_bps(opportunity.net_bps)} bps is below the minimum {_bps(rules.min_net_bps)} bps"
    if (opportunity.symbol, frozenset(legs)) in instant.pairs:
        yield f"already subscribed: {opportunity.symbol} on {' and '.join(sorted(legs))} at this instant"
    if instant.count >= rules.max_per_instant:
        yield f"max {rules.max_per_instant} subscriptions per instant reached"
    for exchange in legs:
        if instant.per_exchange.get(exchange, 0) >= rules.max_per_exchange:
            yield f"max {rules.max_per_exchange} subscriptions per instant on {exchange} reached"
    if instant.per_symbol.get(opportunity.symbol, 0) >= rules.max_per_symbol:
        yield f"max {rules.max_per_symbol} subscriptions per instant on {opportunity.symbol} reached"
    for exchange in legs:
        total = instant.notional.get(exchange, Decimal(0)) + opportunity.notional_usdt
        if total > rules.max_notional_per_exchange:
            yield (f"notional on {exchange} would be {_plain(total)} USDT, above the maximum "
                   f"{_plain(rules.max_notional_per_exchange)} USDT")


def _bps(value: Decimal) -> str:
    return _plain(value.quantize(Decimal("0.01")))


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
