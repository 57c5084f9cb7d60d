"""Instruments (perpetual contracts) of one simulated venue: filters, fees, leverage tiers, prices, funding."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)


@dataclass(frozen=True)
class LeverageTier:
    """Notional bracket ``[notional_floor, notional_cap)`` in quote currency with its max leverage and MMR."""

    notional_floor: Decimal
    notional_cap: Decimal
    max_leverage: int
    maint_margin_rate: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "notional_floor": str(self.notional_floor),
            "notional_cap": str(self.notional_cap),
            "max_leverage": self.max_leverage,
            "maint_margin_rate": str(self.maint_margin_rate),
        }


@dataclass(frozen=True)
class FundingRateRecord:
    """One settled funding period (public history)."""

    funding_time: int
    rate: Decimal
    mark_price: Decimal


@dataclass
class Instrument:
    """A USDT-margined perpetual. Quantities (step, min, max) are in the venue's ORDER unit: base currency
    everywhere except MEXC, where it is contracts of ``contract_size`` base each."""

    symbol: str  # ccxt unified, e.g. BTC/USDT:USDT
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    tiers: list[LeverageTier]
    mark_price: Decimal
    contract_size: Decimal = Decimal(1)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    index_price: Decimal | None = None
    default_leverage: int = 20
    min_leverage: int = 1
    funding_rate: Decimal = ZERO
    funding_interval_s: int = 8 * 3600
    next_funding_time: int = 0  # ms
    settlement_delay_s: float = 0.0
    listed: bool = True
    market_liquidity: Decimal | None = None  # most one market order can fill (order units); None = unlimited
    # The public order book (order_book.py): best bid/ask this many ticks either side of the mark, each further
    # level `book_step_ticks` away, `book_level_qty` order units per level (None: 1000 × min_qty).
    book_half_spread_ticks: int = 1
    book_step_ticks: int = 1
    book_level_qty: Decimal | None = None
    book_levels: int = 200
    onboard_time: int = 1569398400000
    funding_rate_history: list[FundingRateRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # dialect-specific fields (e.g. MEXC riskIncrVol)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError(f"{self.symbol}: at least one leverage tier is required")
        self.tiers = sorted(self.tiers, key=lambda tier: tier.notional_floor)

    @property
    def settle(self) -> str:
        return self.quote

    @property
    def max_leverage(self) -> int:
        """The overall maximum (first tier)."""
        return self.tiers[0].max_leverage

    @property
    def funding_interval_hours(self) -> Decimal:
        return Decimal(self.funding_interval_s) / Decimal(3600)

    @property
    def effective_index_price(self) -> Decimal:
        return self.index_price if self.index_price is not None else self.mark_price

    def tier_for_notional(self, notional: Decimal) -> LeverageTier | None:
        """The tier containing ``notional`` (None when above the last cap)."""
        notional = abs(notional)
        for tier in self.tiers:
            if tier.notional_floor <= notional < tier.notional_cap:
                return tier
        if notional == self.tiers[-1].notional_cap:
            return self.tiers[-1]
        return None

    def max_leverage_at(self, notional: Decimal) -> int:
        tier = self.tier_for_notional(notional)
        return tier.max_leverage if tier is not None else 0

    def max_notional_for_leverage(self, leverage: int) -> Decimal:
        """Largest position notional allowed at ``leverage`` (Binance's ``maxNotionalValue``)."""
        allowed = [tier.notional_cap for tier in self.tiers if tier.max_leverage >= leverage]
        return max(allowed) if allowed else ZERO

    def base_quantity(self, quantity: Decimal) -> Decimal:
        """Order-unit quantity → base currency."""
        return quantity * self.contract_size

    def cumulative_maintenance(self) -> list[Decimal]:
        """Binance ``cum`` (maintenance amount) per tier: cum_i = cum_{i-1} + floor_i × (mmr_i − mmr_{i-1})."""
        result: list[Decimal] = []
        previous_rate = ZERO
        cum = ZERO
        for tier in self.tiers:
            cum += tier.notional_floor * (tier.maint_margin_rate - previous_rate)
            previous_rate = tier.maint_margin_rate
            result.append(cum)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "base": self.base,
            "quote": self.quote,
            "tick_size": str(self.tick_size),
            "step_size": str(self.step_size),
            "min_qty": str(self.min_qty),
            "max_qty": str(self.max_qty),
            "min_notional": str(self.min_notional),
            "contract_size": str(self.contract_size),
            "maker_fee": str(self.maker_fee),
            "taker_fee": str(self.taker_fee),
            "tiers": [tier.to_dict() for tier in self.tiers],
            "mark_price": str(self.mark_price),
            "index_price": str(self.effective_index_price),
            "default_leverage": self.default_leverage,
            "funding_rate": str(self.funding_rate),
            "funding_interval_s": self.funding_interval_s,
            "next_funding_time": self.next_funding_time,
            "settlement_delay_s": self.settlement_delay_s,
            "listed": self.listed,
            "market_liquidity": str(self.market_liquidity) if self.market_liquidity is not None else None,
            "book_half_spread_ticks": self.book_half_spread_ticks,
            "book_step_ticks": self.book_step_ticks,
            "book_level_qty": str(self.book_level_qty) if self.book_level_qty is not None else None,
            "book_levels": self.book_levels,
            "funding_rate_history": [
                {"funding_time": r.funding_time, "rate": str(r.rate), "mark_price": str(r.mark_price)}
                for r in self.funding_rate_history
            ],
            "extra": self.extra,
        }
