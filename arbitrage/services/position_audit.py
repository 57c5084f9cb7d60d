"""At start: positions on the exchanges that no subscription explains are reported, never closed.

What explains a position: the open exposure that the order rows of every subscription not yet final (in progress,
NEEDS_ATTENTION, or with a status the daemon does not know) put on that exchange, symbol and side; an order still
in doubt counts at its full amount. A position larger than that is logged as an ERROR; the subscriptions trading
the same exchange and symbol (if any) get a `position_unexplained` event. With no such subscription there is no
row to write to, and the log line is the report. The daemon never trades such a position: a human must look.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Text, cast, select

from arbitrage.db.models import Order, Subscription
from arbitrage.db.session import Database
from arbitrage.domain import OrderPurpose
from arbitrage.domain.status import ORDER_IN_DOUBT, TERMINAL
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, PositionReport
from arbitrage.logging import get_logger
from arbitrage.services.journal import SubscriptionJournal

log = get_logger(__name__)

EVENT = "position_unexplained"
_Key = tuple[str, str, str]  # exchange, symbol, LONG/SHORT


@dataclass(frozen=True)
class Unexplained:
    position: PositionReport
    explained: Decimal
    subscription_ids: tuple[int, ...]


async def audit_positions(db: Database, connectors: ConnectorRegistry) -> list[Unexplained]:
    """Read every account's positions, then what the rows explain (in that order, so that a subscription opening
    meanwhile is explained by its rows), and report the difference."""
    positions: list[PositionReport] = []
    for exchange_id, connector in sorted(connectors.connectors.items()):
        try:
            positions += await connector.fetch_all_positions()
        except ExchangeError as error:
            log.warning("positions_not_audited", exchange=exchange_id, error=error.user_message)
    explained, traders = await _explained(db)
    found = []
    for position in positions:
        key = (position.exchange, position.symbol, position.side)
        if position.amount > explained[key]:
            found.append(Unexplained(position, explained[key], tuple(sorted(traders[key[:2]]))))
    journal = SubscriptionJournal(db)
    for item in found:
        await _report(journal, item)
    log.info("positions_audited", positions=len(positions), unexplained=len(found))
    return found


async def _report(journal: SubscriptionJournal, item: Unexplained) -> None:
    p = item.position
    message = (f"{p.exchange} holds {p.side} {p.amount} {p.symbol}, of which no subscription explains "
               f"{p.amount - item.explained}: it is not closed by the daemon; check it on {p.exchange}")
    log.error(EVENT, exchange=p.exchange, symbol=p.symbol, side=p.side, amount=str(p.amount),
              explained=str(item.explained), subscriptions=list(item.subscription_ids), reason=message,
              recorded_on=list(item.subscription_ids) or "log only: no subscription trades this symbol")
    for subscription_id in item.subscription_ids:
        await journal.note(subscription_id, EVENT, message)


async def _explained(db: Database) -> tuple[defaultdict[_Key, Decimal], defaultdict[tuple[str, str], set[int]]]:
    final = [status.value for status in TERMINAL]
    live = select(Subscription.id).where(cast(Subscription.status, Text).not_in(final))
    legs = select(Subscription.id, Subscription.primary_exchange, Subscription.primary_symbol,
                  Subscription.hedge_exchange, Subscription.hedge_symbol).where(Subscription.id.in_(live))
    async with db.unit_of_work() as session:
        orders = (await session.scalars(select(Order).where(Order.subscription_id.in_(live)))).all()
        subscriptions = (await session.execute(legs)).all()
    explained: defaultdict[_Key, Decimal] = defaultdict(Decimal)
    traders: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for subscription_id, primary_exchange, primary_symbol, hedge_exchange, hedge_symbol in subscriptions:
        traders[(primary_exchange, primary_symbol)].add(subscription_id)
        traders[(hedge_exchange, hedge_symbol)].add(subscription_id)
    for order in orders:
        opens = order.purpose is OrderPurpose.OPEN
        side = "LONG" if (order.side == "buy") == opens else "SHORT"
        amount = order.amount if opens and order.status in ORDER_IN_DOUBT else order.filled
        explained[(order.exchange, order.symbol, side)] += amount if opens else -amount
        traders[(order.exchange, order.symbol)].add(order.subscription_id)
    return explained, traders
