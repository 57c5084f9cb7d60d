"""One candidate subscription found by the scanner: a symbol, an ordered exchange pair, a side and an instant,
with what it should earn at current rates. Shared by `arbitrage scan`, auto-subscribe and the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from arbitrage.domain import Side
from arbitrage.domain.trade_estimate import apr, per_day


@dataclass(frozen=True)
class Opportunity:
    symbol: str  # unified ccxt symbol, e.g. BTC/USDT:USDT (the same asset on both legs)
    primary: str  # exchange id where the funding is earned
    hedge: str
    side: Side  # the primary leg's side
    funding_time: datetime  # the primary's next funding instant, UTC
    notional_usdt: Decimal
    primary_rate: Decimal
    hedge_rate: Decimal | None  # None: the hedge settles at another time (not part of this trade)
    primary_interval_hours: int
    hedge_interval_hours: int
    funding_usdt: Decimal  # + received, both legs where they settle at the instant
    fees_usdt: Decimal  # + paid, four taker fees
    spread_usdt: Decimal  # + paid, estimated from the order books' top levels
    blocked_reason: str | None = None  # a market rule the subscription would fail (minimum notional, tier, listing)
    amount: Decimal | None = None  # base units on both legs (the notional at the mark price, on the coarser step)
    spread_known: bool = True  # False: no order book was read for it (spread_usdt is then 0, net optimistic)
    primary_fee_rate: Decimal | None = None
    hedge_fee_rate: Decimal | None = None

    @property
    def net_usdt(self) -> Decimal:
        return self.funding_usdt - self.fees_usdt - self.spread_usdt

    @property
    def net_bps(self) -> Decimal:
        return self.net_usdt / self.notional_usdt * 10_000 if self.notional_usdt else Decimal(0)

    @property
    def net_per_day_usdt(self) -> Decimal:
        """The net if captured at every instant of the primary's interval for 24 h."""
        return per_day(self.net_usdt, self.primary_interval_hours)

    @property
    def apr(self) -> Decimal:
        """`net_per_day_usdt` over a year as a fraction of the notional (0.1 = 10 %)."""
        return apr(self.net_usdt, self.notional_usdt, self.primary_interval_hours)
