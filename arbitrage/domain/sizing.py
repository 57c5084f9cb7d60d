"""Order sizing: one amount that both exchanges accept.

Everything here works in BASE units (e.g. BTC). MEXC quotes quantities in contracts; its connector converts
the market's contract step / minimum to base units (``volUnit * contractSize``) before building ``MarketRules``
and converts the final amount to contracts just before sending the order (exchanges/orders.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import gcd, lcm

from arbitrage.domain.errors import SizingError, ValidationError

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class MarketRules:
    """One exchange's trading rules for one symbol, all quantities in base units."""

    exchange: str
    symbol: str
    step_size: Decimal
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    max_qty: Decimal | None = None
    tick_size: Decimal | None = None
    contract_size: Decimal = ONE  # base units per contract; informational (MEXC), 1 elsewhere

    def __post_init__(self) -> None:
        _require_positive(self, "step_size", self.step_size)
        _require_positive(self, "contract_size", self.contract_size)
        _require_non_negative(self, "min_qty", self.min_qty)
        _require_non_negative(self, "min_notional", self.min_notional)
        if self.max_qty is not None:
            _require_positive(self, "max_qty", self.max_qty)
        if self.tick_size is not None:
            _require_positive(self, "tick_size", self.tick_size)


@dataclass(frozen=True, slots=True)
class SizedAmount:
    """The amount to send on both legs, and what rounding did to the request."""

    requested: Decimal
    amount: Decimal
    step: Decimal

    @property
    def changed(self) -> bool:
        return self.amount != self.requested

    @property
    def rounded_off(self) -> Decimal:
        """How much of the request was dropped by rounding down (0 when unchanged)."""
        return self.requested - self.amount


def common_step(a: MarketRules, b: MarketRules) -> Decimal:
    """The smallest step whose multiples are multiples of both exchanges' steps (exact LCM of the two)."""
    return _decimal_lcm(a.step_size, b.step_size)


def round_amount_to_both(
    amount: Decimal,
    primary: MarketRules,
    hedge: MarketRules,
    price: Decimal | None = None,
) -> SizedAmount:
    """Truncate ``amount`` (base units) to the common step and check every minimum/maximum of both exchanges.

    Rounding is DOWN, like ccxt's ``amount_to_precision``, so a leg is never larger than requested.
    Notional minimums are checked only when ``price`` is known.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise SizingError(f"amount {amount} is not a positive number; pass a positive --amount")
    if price is not None and (not isinstance(price, Decimal) or not price.is_finite() or price <= 0):
        raise SizingError(f"price {price} is not a positive number; cannot check the minimum order value")
    step = common_step(primary, hedge)
    rounded = _plain((amount // step) * step)
    sized = SizedAmount(requested=amount, amount=rounded, step=step)
    shown = _describe(sized)
    if rounded == 0:
        raise SizingError(
            f"amount {_fmt(amount)} rounds down to 0 at step {_fmt(step)} (the step both {primary.exchange} "
            f"and {hedge.exchange} accept) for {primary.symbol}; raise --amount to at least "
            f"{_fmt(minimum_amount(primary, hedge, price))}"
        )
    for rules in (primary, hedge):
        _check_limits(rules, sized, shown, price, primary, hedge)
    return sized


def minimum_amount(primary: MarketRules, hedge: MarketRules, price: Decimal | None = None) -> Decimal:
    """The smallest multiple of the common step that satisfies both exchanges' min qty (and min notional at price)."""
    step = common_step(primary, hedge)
    needed = [Fraction(primary.min_qty), Fraction(hedge.min_qty), Fraction(step)]
    if price is not None and price > 0:
        needed += [Fraction(primary.min_notional) / Fraction(price), Fraction(hedge.min_notional) / Fraction(price)]
    multiples = -(-max(needed) // Fraction(step))  # ceiling division
    return _plain(Decimal(multiples) * step)


def _check_limits(
    rules: MarketRules,
    sized: SizedAmount,
    shown: str,
    price: Decimal | None,
    primary: MarketRules,
    hedge: MarketRules,
) -> None:
    where = f"for {rules.symbol}"
    if sized.amount < rules.min_qty:
        raise SizingError(
            f"{shown} is below {rules.exchange}'s minimum order size {_fmt(rules.min_qty)} {where}; "
            f"raise --amount to at least {_fmt(minimum_amount(primary, hedge, price))}"
        )
    if rules.max_qty is not None and sized.amount > rules.max_qty:
        raise SizingError(
            f"{shown} is above {rules.exchange}'s maximum order size {_fmt(rules.max_qty)} {where}; lower --amount"
        )
    if price is not None and sized.amount * price < rules.min_notional:
        raise SizingError(
            f"order value {_fmt(sized.amount * price)} ({shown} at price {_fmt(price)}) is below "
            f"{rules.exchange}'s minimum order value {_fmt(rules.min_notional)} {where}; "
            f"raise --amount to at least {_fmt(minimum_amount(primary, hedge, price))}"
        )


def _decimal_lcm(a: Decimal, b: Decimal) -> Decimal:
    fa, fb = Fraction(a), Fraction(b)
    # lcm(p1/q1, p2/q2) = lcm(p1, p2) / gcd(q1, q2) for fractions in lowest terms.
    result = Fraction(lcm(fa.numerator, fb.numerator), gcd(fa.denominator, fb.denominator))
    return _fraction_to_decimal(result)


def _fraction_to_decimal(value: Fraction) -> Decimal:
    """Exact conversion; the denominator divides a power of ten because it comes from decimal inputs."""
    denominator, exponent = value.denominator, 0
    while 10**exponent % denominator:
        exponent += 1
    return _plain(Decimal(value.numerator * (10**exponent // denominator)).scaleb(-exponent))


def _plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (100, not 1E+2)."""
    if value == value.to_integral_value():
        return value.quantize(ONE)
    return value.normalize()


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) and value.is_finite() else str(value)


def _describe(sized: SizedAmount) -> str:
    if sized.changed:
        return f"amount {_fmt(sized.requested)} (rounded down to {_fmt(sized.amount)})"
    return f"amount {_fmt(sized.amount)}"


def _where(exchange: str, symbol: str) -> str:
    return f"{exchange} {symbol}".strip()


def _require_positive(rules: MarketRules, field: str, value: object) -> None:
    _require_decimal(rules, field, value)
    if value <= 0:  # type: ignore[operator]
        raise ValidationError(
            f"{field} {value} of {rules.exchange} {rules.symbol} must be positive; reload the markets"
        )


def _require_non_negative(rules: MarketRules, field: str, value: object) -> None:
    _require_decimal(rules, field, value)
    if value < 0:  # type: ignore[operator]
        raise ValidationError(
            f"{field} {value} of {rules.exchange} {rules.symbol} must not be negative; reload the markets"
        )


def _require_decimal(rules: MarketRules, field: str, value: object) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValidationError(
            f"{field} of {rules.exchange} {rules.symbol} must be a finite Decimal, got {value!r}"
        )
