"""The two legs of a subscription: exchange, symbol and the position side each holds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arbitrage.db.models import Subscription
from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.services.order_execution import OrderIntent


@dataclass(frozen=True)
class LegSpec:
    leg: Leg
    exchange: str
    symbol: str
    side: Side  # the position side this leg holds

    def intent(self, purpose: OrderPurpose, amount: Decimal, client_order_id: str) -> OrderIntent:
        opening = purpose is OrderPurpose.OPEN
        order_side = self.side.opening_order_side if opening else self.side.closing_order_side
        return OrderIntent(
            leg=self.leg, purpose=purpose, exchange=self.exchange, symbol=self.symbol, side=order_side,
            amount=amount, client_order_id=client_order_id, reduce_only=not opening, position_side=self.side.value,
        )


def leg_specs(subscription: Subscription) -> tuple[LegSpec, LegSpec]:
    side = Side(subscription.side)
    return (
        LegSpec(Leg.PRIMARY, subscription.primary_exchange, subscription.primary_symbol, side),
        LegSpec(Leg.HEDGE, subscription.hedge_exchange, subscription.hedge_symbol, side.opposite),
    )
