"""The opening and closing steps as tables: what two in-memory exchanges do → the result, the rows, the positions.

The steps run as the pipeline runs them (a real journal on SQLite and PostgreSQL, the real order lookup), against
`MemoryExchange`, our own connector protocol played in memory; the receive window is 50 ms, so doubts settle fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from memory_exchange import Act, MemoryExchange

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain import OrderPurpose, Side
from arbitrage.domain.sizing import MarketRules
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.services import closing, opening, order_lookup
from arbitrage.services.clock import utcnow
from arbitrage.services.journal import SubscriptionJournal
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.step_context import StepContext

BTC = "BTC/USDT:USDT"
AMOUNT = Decimal("0.010")
A, B = "binanceusdm", "bybit"  # primary SHORT on A, hedge LONG on B


class Markets:
    async def rules(self, exchange: str, symbol: str) -> MarketRules:
        return MarketRules(exchange, symbol, Decimal("0.001"))

    async def max_leverage(self, exchange: str, symbol: str, notional: Decimal) -> int:
        return 20


@pytest.fixture(autouse=True)
def fast_doubts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production margins are seconds; here the exchanges are in memory."""
    monkeypatch.setattr(order_lookup, "PROOF_MARGIN", timedelta(milliseconds=20))
    monkeypatch.setattr(order_lookup, "LOOKUP_DEADLINE_SECONDS", 0.3)
    monkeypatch.setattr(order_lookup, "LOOKUP_DELAYS_SECONDS", (0.02,))
    monkeypatch.setattr(closing, "REDUCE_BACKOFF_SECONDS", (0.0, 0.0, 0.0, 0.0))
    monkeypatch.setattr(opening, "OPEN_RETRY_PAUSES_SECONDS", (0.0, 0.0, 0.0))


@pytest.fixture
async def ctx(migrated_database_url: str) -> AsyncIterator[StepContext]:
    db = Database(migrated_database_url)
    registry = ConnectorRegistry({A: MemoryExchange(A), B: MemoryExchange(B)})  # type: ignore[dict-item]
    yield StepContext(SubscriptionJournal(db), registry, Markets(), PipelineConfig(), asyncio.Event())
    await db.dispose()


def exchange(ctx: StepContext, exchange_id: str) -> MemoryExchange:
    connector = ctx.connector(exchange_id)
    assert isinstance(connector, MemoryExchange)
    return connector


async def subscription(ctx: StepContext, funding_in: float = 30) -> Subscription:
    async with ctx.journal.db.unit_of_work() as session:
        created = await repo.create_subscription(
            session, primary_exchange=A, primary_symbol=BTC, hedge_exchange=B, hedge_symbol=BTC, side=Side.SHORT,
            amount=AMOUNT, funding_time=utcnow() + timedelta(seconds=funding_in), lead_seconds=5, leverage=3)
        for status in (Status.SYNCING_LEVERAGE,):
            await repo.transition(session, created, status, event="test")
    return created


OPEN_TABLE = [
    # (primary acts, hedge acts, target, event, A short left, B long left, open rows (client id suffix, status))
    ([], [], Status.OPEN, "opened", AMOUNT, AMOUNT,
     [("PO1", OrderStatus.FILLED), ("HO1", OrderStatus.FILLED)]),
    ([Act.REJECT], [], Status.ERROR, "unwound", 0, 0,
     [("PO1", OrderStatus.REJECTED), ("HO1", OrderStatus.FILLED)]),
    ([], [Act.REJECT], Status.ERROR, "unwound", 0, 0,
     [("PO1", OrderStatus.FILLED), ("HO1", OrderStatus.REJECTED)]),
    ([Act.REJECT], [Act.REJECT], Status.ERROR, "open_failed", 0, 0,
     [("PO1", OrderStatus.REJECTED), ("HO1", OrderStatus.REJECTED)]),
    # refused unprocessed, or proven never to have arrived: sent again with the next client id
    ([], [Act.RATE_LIMITED], Status.OPEN, "opened", AMOUNT, AMOUNT,
     [("PO1", OrderStatus.FILLED), ("HO1", OrderStatus.REJECTED), ("HO2", OrderStatus.FILLED)]),
    ([Act.LOST_UNSENT], [], Status.OPEN, "opened", AMOUNT, AMOUNT,
     [("PO1", OrderStatus.FAILED), ("HO1", OrderStatus.FILLED), ("PO2", OrderStatus.FILLED)]),
    ([], [Act.LOST_EXECUTED], Status.OPEN, "opened", AMOUNT, AMOUNT,
     [("PO1", OrderStatus.FILLED), ("HO1", OrderStatus.FILLED)]),
    # a partial fill: the larger leg is reduced to match
    ([], [Act.HALF], Status.OPEN, "opened", AMOUNT / 2, AMOUNT / 2,
     [("PO1", OrderStatus.FILLED), ("HO1", OrderStatus.PARTIALLY_FILLED)]),
]


@pytest.mark.parametrize(("primary", "hedge", "target", "event", "a_left", "b_left", "rows"), OPEN_TABLE)
async def test_open(ctx, primary, hedge, target, event, a_left, b_left, rows) -> None:
    sub = await subscription(ctx)
    exchange(ctx, A).will(*primary)
    exchange(ctx, B).will(*hedge)
    pending = await opening.record_open_orders(ctx, sub, AMOUNT)
    result = await opening.open_legs(ctx, sub, pending)
    assert (result.target, result.event) == (target, event), result.reason
    assert exchange(ctx, A).position(Side.SHORT) == a_left and exchange(ctx, B).position(Side.LONG) == b_left
    opens = [o for o in await ctx.journal.orders(sub.id) if o.purpose is OrderPurpose.OPEN]
    assert [(o.client_order_id[-3:], o.status) for o in opens] == rows


async def test_an_open_whose_lookups_fail_is_unwound_from_the_position_it_shows(ctx) -> None:
    sub = await subscription(ctx)
    exchange(ctx, B).will(Act.LOST_EXECUTED).lookups_fail = True
    result = await opening.open_legs(ctx, sub, await opening.record_open_orders(ctx, sub, AMOUNT))
    assert (result.target, result.event) == (Status.ERROR, "unwound")
    assert "primary leg and hedge leg unwound" in result.reason and "bybit" in result.reason
    assert exchange(ctx, A).position(Side.SHORT) == 0 and exchange(ctx, B).position(Side.LONG) == 0


async def test_an_unknown_leg_whose_position_cannot_be_read_needs_attention(ctx) -> None:
    sub = await subscription(ctx)
    hedge = exchange(ctx, B).will(Act.LOST_EXECUTED)
    hedge.lookups_fail = hedge.positions_fail = True
    result = await opening.open_legs(ctx, sub, await opening.record_open_orders(ctx, sub, AMOUNT))
    assert result.target is Status.NEEDS_ATTENTION and "could not read the bybit position" in result.reason


async def test_a_failed_unwind_needs_attention(ctx) -> None:
    sub = await subscription(ctx)
    exchange(ctx, A).will(Act.FILL, *[Act.REJECT] * closing.REDUCE_ATTEMPTS)
    exchange(ctx, B).will(Act.REJECT)
    result = await opening.open_legs(ctx, sub, await opening.record_open_orders(ctx, sub, AMOUNT))
    assert result.target is Status.NEEDS_ATTENTION and "UNWIND FAILED" in result.reason
    assert exchange(ctx, A).position(Side.SHORT) == AMOUNT, "the exposure the row warns about is real"


CLOSE_TABLE = [
    # (primary acts for its close, outcome: None = flat and fine, else the start of the NEEDS_ATTENTION reason)
    ([], None),
    ([Act.REJECT], None),  # sent again
    ([Act.LOST_EXECUTED], None),  # looked up and found
    ([Act.LOST_UNSENT], None),  # proven never arrived, sent again
    ([Act.REJECT] * closing.REDUCE_ATTEMPTS, "close failed: binanceusdm"),
]


@pytest.mark.parametrize(("acts", "problem"), CLOSE_TABLE)
async def test_close(ctx, acts, problem) -> None:
    sub = await subscription(ctx)
    result = await opening.open_legs(ctx, sub, await opening.record_open_orders(ctx, sub, AMOUNT))
    await ctx.journal.apply(sub, result)
    await ctx.journal.transition(sub, Status.CLOSING, "closing", event="closing")
    exchange(ctx, A).will(*acts)
    failed = await closing.close_legs(ctx, sub)
    if problem is None:
        assert failed is None
        assert exchange(ctx, A).position(Side.SHORT) == 0 and exchange(ctx, B).position(Side.LONG) == 0
    else:
        assert failed is not None and failed.target is Status.NEEDS_ATTENTION and failed.reason.startswith(problem)
        assert exchange(ctx, A).position(Side.SHORT) == AMOUNT


async def test_a_close_that_executed_late_while_its_retries_were_refused_is_not_a_failure(ctx) -> None:
    """Every close retry is refused as reduce-only because the first (answer lost, lookups down) did execute:
    the positions, read again, say flat, so there is nothing for a human to do."""
    sub = await subscription(ctx)
    await ctx.journal.apply(sub, await opening.open_legs(ctx, sub, await opening.record_open_orders(ctx, sub, AMOUNT)))
    await ctx.journal.transition(sub, Status.CLOSING, "closing", event="closing")
    primary = exchange(ctx, A).will(Act.LOST_EXECUTED)
    primary.lookups_fail = True
    assert await closing.close_legs(ctx, sub) is None
    assert primary.position(Side.SHORT) == 0
