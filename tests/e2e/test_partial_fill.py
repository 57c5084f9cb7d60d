"""A leg that fills only partly (thin book) through the real daemon: the larger leg is reduced to match, the
subscription opens with equal legs, earns funding on what it holds and closes flat."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrage.domain import Leg, OrderPurpose, Side
from arbitrage.domain.funding import expected_funding
from arbitrage.domain.status import OrderStatus, Status
from e2e_harness import ORDER_PATHS

BTC = "BTC/USDT:USDT"
AMOUNT = Decimal("0.01")
PRIMARY_RATE = Decimal("0.0004")  # pays the SHORT primary
HEDGE_RATE = Decimal("0.0001")


@pytest.mark.parametrize(
    ("primary", "hedge", "thin", "fill_limit", "held"),
    [
        # the hedge (one-way, base units) fills 0.006 of 0.01: the primary is reduced by 0.004
        ("bybit", "binanceusdm", Leg.HEDGE, {"fill_qty": "0.006"}, Decimal("0.006")),
        # the hedge on MEXC (contracts of 0.0001 BTC) fills 60 of 100 contracts: the primary is reduced by 0.004
        ("bingx", "mexc", Leg.HEDGE, {"fill_ratio": "0.6"}, Decimal("0.006")),
        # the primary fills 0.007 of 0.01: the hedge is reduced by 0.003
        ("binanceusdm", "bybit", Leg.PRIMARY, {"fill_ratio": "0.7"}, Decimal("0.007")),
    ],
    ids=["hedge-binanceusdm", "hedge-mexc", "primary-binanceusdm"],
)
async def test_uneven_fill_is_balanced_then_the_cycle_completes(
    sim, harness_factory, tmp_path, primary, hedge, thin, fill_limit, held
):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    thin_exchange, other_leg = (hedge, Leg.PRIMARY) if thin is Leg.HEDGE else (primary, Leg.HEDGE)
    other_exchange = primary if other_leg is Leg.PRIMARY else hedge
    sim.engine.set_funding(primary, BTC, rate=PRIMARY_RATE)
    sim.engine.set_funding(hedge, BTC, rate=HEDGE_RATE)
    fault = sim.faults.add(action="partial_fill", exchange=thin_exchange, method="POST",
                           path=ORDER_PATHS[thin_exchange], **fill_limit)
    subscription_id, _ = await harness.subscribe(primary, hedge, Side.SHORT, amount=str(AMOUNT), funding_in=4.5)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.COMPLETED}
    assert fault.hits == 1, "only the opening order met the thin book"

    story = await harness.story(subscription_id)
    opens = {o.leg: o for o in story.orders if o.purpose is OrderPurpose.OPEN}
    assert (opens[thin].status, opens[thin].filled, opens[thin].amount) == (
        OrderStatus.PARTIALLY_FILLED, held, AMOUNT)
    assert (opens[other_leg].status, opens[other_leg].filled) == (OrderStatus.FILLED, AMOUNT)

    excess = AMOUNT - held
    [unwind] = [o for o in story.orders if o.purpose is OrderPurpose.UNWIND]
    assert (unwind.leg, unwind.exchange, unwind.amount, unwind.filled, unwind.status) == (
        other_leg, other_exchange, excess, excess, OrderStatus.FILLED)
    assert unwind.side != opens[other_leg].side, "the unwind reduces the larger leg"
    [opened] = [e for e in story.events if e.event == "opened"]
    assert opened.to_status == Status.OPEN
    as_decimals = {kind: {leg: Decimal(value) for leg, value in opened.details[kind].items()}
                   for kind in ("filled", "reduced")}
    assert as_decimals == {"filled": {thin.value: held, other_leg.value: AMOUNT}, "reduced": {other_leg.value: excess}}

    closes = [o for o in story.orders if o.purpose is OrderPurpose.CLOSE]
    assert {(o.leg, o.filled, o.status) for o in closes} == {
        (Leg.PRIMARY, held, OrderStatus.FILLED), (Leg.HEDGE, held, OrderStatus.FILLED)}
    for exchange in (primary, hedge):
        venue = sim.engine.venue(exchange)
        assert venue.position_views(venue.default_account(), BTC) == [], f"{exchange} must be flat"

    # The simulator saw the thin venue's opening order expire with the filled part executed.
    thin_venue = sim.engine.venue(thin_exchange)
    first = thin_venue.default_account().orders[0]
    assert first.status.value == "EXPIRED"
    assert thin_venue.instrument(BTC).base_quantity(first.executed_qty) == held

    payments = {p.exchange: p.amount for p in story.payments}
    for exchange, leg_side, rate in ((primary, Side.SHORT, PRIMARY_RATE), (hedge, Side.LONG, HEDGE_RATE)):
        price = sim.engine.venue(exchange).instrument(BTC).mark_price
        assert payments[exchange] == pytest.approx(expected_funding(leg_side, held, price, rate), abs=Decimal("1e-4"))
    sub = story.subscription
    assert sub.funding_received == sum(payments.values()) and sub.funding_received > 0
    assert sub.fees == sum(o.fee for o in story.orders) and sub.fees > 0
    assert sub.realized_pnl is not None
    assert story.event_names()[-1] == "completed"
