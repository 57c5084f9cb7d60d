"""What one funding capture should earn at the current rates, before it is subscribed.

net = primary funding on the notional + the hedge's funding (only when it settles at the same instant; it is
usually paid) - four taker fees (open and close on both legs) - the spread paid crossing the books.

The spread is what the four market orders pay against the mid price: each leg buys through one side of its book and
later sells through the other, walking the top levels for the whole amount (`crossing_cost`). A half-spread per
order would be the same for a deep book, but it hides the price impact of a notional larger than the best level,
which is where thin listings lose money; the close is priced on today's book (it is not known yet).

Per 24 h and APR repeat the capture at every instant of the primary's interval, so a 1 h symbol and an 8 h symbol
compare on the same footing (an 8 h capture paying 8 times a 1 h one earns the same per day, with fewer fees).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbitrage.domain import Side
from arbitrage.domain.funding import side_receipt_rate

# Each venue's standard (lowest-volume tier) taker fee for USDT perpetuals, used when the exchange's market data
# gives none: Binance USD-M 0.05 %, Bybit 0.055 %, BingX 0.05 %, MEXC 0.02 %. Accounts with discounts pay less,
# so the estimate errs on the costly side.
DEFAULT_TAKER_FEE = {
    "binanceusdm": Decimal("0.0005"),
    "bybit": Decimal("0.00055"),
    "bingx": Decimal("0.0005"),
    "mexc": Decimal("0.0002"),
}
BPS = Decimal(10_000)
HOURS_PER_DAY = Decimal(24)
DAYS_PER_YEAR = Decimal(365)

Level = tuple[Decimal, Decimal]  # (price, amount in base units)


@dataclass(frozen=True)
class BookCost:
    """What crossing one side of a book for an amount costs against the mid price (+ paid, quote units)."""

    cost: Decimal
    filled: Decimal  # base units the given levels hold, up to the amount
    levels_used: int

    def short_of(self, amount: Decimal) -> Decimal:
        return max(amount - self.filled, Decimal(0))


def mid_price(bids: Sequence[Level], asks: Sequence[Level]) -> Decimal | None:
    if not bids or not asks:
        return None
    return (bids[0][0] + asks[0][0]) / 2


def crossing_cost(levels: Sequence[Level], amount: Decimal, mid: Decimal) -> BookCost:
    """A market order for `amount` (base units) filled level by level, best first: the sum over the levels it takes
    of quantity × |price - mid|. Levels beyond the given ones are unknown: `filled` says how much was covered."""
    remaining = amount
    cost = Decimal(0)
    used = 0
    for price, quantity in levels:
        if remaining <= 0:
            break
        take = min(quantity, remaining)
        cost += take * abs(price - mid)
        remaining -= take
        used += 1
    return BookCost(cost=cost, filled=amount - max(remaining, Decimal(0)), levels_used=used)


def round_trip_spread(bids: Sequence[Level], asks: Sequence[Level], amount: Decimal) -> tuple[Decimal, Decimal] | None:
    """One leg's spread for opening and closing `amount`: buying through the asks plus selling through the bids
    (whichever way round the leg goes, it crosses each side once). Returns (cost, amount the levels cannot fill);
    None for an empty side."""
    mid = mid_price(bids, asks)
    if mid is None:
        return None
    buy, sell = crossing_cost(asks, amount, mid), crossing_cost(bids, amount, mid)
    return buy.cost + sell.cost, max(buy.short_of(amount), sell.short_of(amount))


def per_day(net: Decimal, interval_hours: int) -> Decimal:
    """The net of capturing every instant of an `interval_hours` schedule for 24 h."""
    return net * HOURS_PER_DAY / Decimal(interval_hours)


def apr(net: Decimal, notional: Decimal, interval_hours: int) -> Decimal:
    """`per_day` over a year as a fraction of the notional (0.1 = 10 %), simple (not compounded)."""
    return per_day(net, interval_hours) * DAYS_PER_YEAR / notional if notional else Decimal(0)


@dataclass(frozen=True)
class Estimate:
    notional: Decimal  # USDT
    primary_funding: Decimal  # + received
    hedge_funding: Decimal | None  # + received; None: the hedge does not settle at that instant
    fees: Decimal  # + paid, four taker fees
    primary_fee_rate: Decimal
    hedge_fee_rate: Decimal
    spread: Decimal | None = None  # + paid crossing both books (open and close); None: not estimated

    @property
    def funding(self) -> Decimal:
        return self.primary_funding + (self.hedge_funding or Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.funding - self.fees - (self.spread or Decimal(0))

    @property
    def net_bps(self) -> Decimal:
        return self.net / self.notional * BPS if self.notional else Decimal(0)


def estimate_capture(
    side: Side,
    amount: Decimal,
    price: Decimal,
    primary_rate: Decimal,
    hedge_rate: Decimal | None,
    primary_fee_rate: Decimal,
    hedge_fee_rate: Decimal,
    spread: Decimal | None = None,
) -> Estimate:
    """`hedge_rate` None when the hedge's funding falls at another instant (it is then not part of this trade);
    `spread` the sum of both legs' `round_trip_spread` (None: not estimated)."""
    notional = amount * price
    hedge_funding = None if hedge_rate is None else notional * side_receipt_rate(side.opposite, hedge_rate)
    return Estimate(
        notional=notional,
        primary_funding=notional * side_receipt_rate(side, primary_rate),
        hedge_funding=hedge_funding,
        fees=2 * notional * (primary_fee_rate + hedge_fee_rate),
        primary_fee_rate=primary_fee_rate,
        hedge_fee_rate=hedge_fee_rate,
        spread=spread,
    )


def usdt(value: Decimal) -> str:
    """Signed, to the cent's hundredth (funding on small notionals is fractions of a cent)."""
    return f"{value.quantize(Decimal('0.0001')):+f}"


def describe(estimate: Estimate, primary: str, hedge: str, spread_problem: str | None = None) -> str:
    hedge_part = (
        f"{usdt(estimate.hedge_funding)} on {hedge} (same instant)"
        if estimate.hedge_funding is not None
        else f"none on {hedge} (it settles at another time)"
    )
    return (
        f"expected net at current rates {usdt(estimate.net)} USDT ({estimate.net_bps.quantize(Decimal('0.1')):+f} "
        f"bps of {estimate.notional.normalize():f} USDT): funding {usdt(estimate.primary_funding)} on {primary}, "
        f"{hedge_part}, taker fees {usdt(-estimate.fees)} (4 orders at {_percent(estimate.primary_fee_rate)} on "
        f"{primary}, {_percent(estimate.hedge_fee_rate)} on {hedge}), {_spread_part(estimate, spread_problem)}"
    )


def _spread_part(estimate: Estimate, problem: str | None) -> str:
    if estimate.spread is None:
        return f"spread not included ({problem or 'no order book'})"
    return f"spread {usdt(-estimate.spread)} (crossing both order books to open and close)"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"
