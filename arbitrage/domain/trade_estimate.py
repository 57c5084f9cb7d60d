"""What one funding capture should earn at the current rates, before it is subscribed.

net = primary funding on the notional + the hedge's funding (only when it settles at the same instant; it is
usually paid) - four taker fees (open and close on both legs). The bid/ask spread is not in it: nothing here
reads order books, so the estimate says so instead of guessing one.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Estimate:
    notional: Decimal  # USDT
    primary_funding: Decimal  # + received
    hedge_funding: Decimal | None  # + received; None: the hedge does not settle at that instant
    fees: Decimal  # + paid, four taker fees
    primary_fee_rate: Decimal
    hedge_fee_rate: Decimal

    @property
    def net(self) -> Decimal:
        return self.primary_funding + (self.hedge_funding or Decimal(0)) - self.fees

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
) -> Estimate:
    """`hedge_rate` None when the hedge's funding falls at another instant (it is then not part of this trade)."""
    notional = amount * price
    hedge_funding = None if hedge_rate is None else notional * side_receipt_rate(side.opposite, hedge_rate)
    return Estimate(
        notional=notional,
        primary_funding=notional * side_receipt_rate(side, primary_rate),
        hedge_funding=hedge_funding,
        fees=2 * notional * (primary_fee_rate + hedge_fee_rate),
        primary_fee_rate=primary_fee_rate,
        hedge_fee_rate=hedge_fee_rate,
    )


def usdt(value: Decimal) -> str:
    """Signed, to the cent's hundredth (funding on small notionals is fractions of a cent)."""
    return f"{value.quantize(Decimal('0.0001')):+f}"


def describe(estimate: Estimate, primary: str, hedge: str) -> str:
    hedge_part = (
        f"{usdt(estimate.hedge_funding)} on {hedge} (same instant)"
        if estimate.hedge_funding is not None
        else f"none on {hedge} (it settles at another time)"
    )
    return (
        f"expected net at current rates {usdt(estimate.net)} USDT ({estimate.net_bps.quantize(Decimal('0.1')):+f} "
        f"bps of {estimate.notional.normalize():f} USDT): funding {usdt(estimate.primary_funding)} on {primary}, "
        f"{hedge_part}, taker fees {usdt(-estimate.fees)} (4 orders at {_percent(estimate.primary_fee_rate)} on "
        f"{primary}, {_percent(estimate.hedge_fee_rate)} on {hedge}); spread not included (no order-book read)"
    )


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"
