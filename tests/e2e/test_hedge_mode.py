"""Hedge-mode accounts on every exchange: the daemon reads each account's mode at start and sends each venue's
position parameters (Binance positionSide, Bybit positionIdx, BingX LONG/SHORT, MEXC positionMode) for leverage,
open and close."""

from __future__ import annotations

from decimal import Decimal

from arbitrage.domain import OrderPurpose, Side
from arbitrage.domain.status import OrderStatus, Status
from e2e_harness import ORDER_PATHS

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
CYCLE = [
    ("binanceusdm", "bybit", Side.SHORT, BTC),
    ("bingx", "mexc", Side.LONG, BTC),
    ("bybit", "bingx", Side.LONG, ETH),
    ("mexc", "binanceusdm", Side.SHORT, ETH),
]
# The parameter that names the position side on each venue's order request, and its value for a side.
POSITION_PARAM = {
    "binanceusdm": ("positionSide", {Side.LONG: "LONG", Side.SHORT: "SHORT"}),
    "bybit": ("positionIdx", {Side.LONG: "1", Side.SHORT: "2"}),
    "bingx": ("positionSide", {Side.LONG: "LONG", Side.SHORT: "SHORT"}),
    "mexc": ("positionMode", {Side.LONG: "1", Side.SHORT: "1"}),
}


async def test_hedge_mode_accounts_run_a_full_cycle(sim, harness_factory, tmp_path):
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for exchange in ("binanceusdm", "bybit", "bingx", "mexc"):
        sim.engine.set_position_mode(exchange, hedge=True)
    for primary, hedge, side, symbol in CYCLE:
        sim.engine.set_funding(primary, symbol, rate=Decimal("0.0004") if side is Side.SHORT else Decimal("-0.0004"))
    ids = [
        (await harness.subscribe(primary, hedge, side, symbol=symbol, funding_in=4.5))[0]
        for primary, hedge, side, symbol in CYCLE
    ]
    await harness.start()
    statuses = await harness.wait_until_finished(ids)
    assert set(statuses.values()) == {Status.COMPLETED}, statuses

    for subscription_id, (primary, hedge, side, symbol) in zip(ids, CYCLE, strict=True):
        story = await harness.story(subscription_id)
        assert story.subscription.applied_leverage == 3
        assert all(o.status is OrderStatus.FILLED for o in story.orders)
        assert {o.purpose for o in story.orders} == {OrderPurpose.OPEN, OrderPurpose.CLOSE}
        assert {p.exchange for p in story.payments} == {primary, hedge}
        for exchange, leg_side in ((primary, side), (hedge, side.opposite)):
            name, values = POSITION_PARAM[exchange]
            sent = [str(r.params.get(name)) for r in harness.requests(exchange, ORDER_PATHS[exchange], symbol)]
            assert sent == [values[leg_side]] * 2, (exchange, name, sent)  # open and close act on the leg's side
            venue = sim.engine.venue(exchange)
            assert venue.position_views(venue.default_account(), symbol) == [], f"{exchange} must be flat"
