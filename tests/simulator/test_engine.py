"""Engine rules without HTTP: order validation, positions, PnL, margin, leverage tiers, funding settlement."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from arbitrage.simulator.accounts import Account, MarginMode, OrderRequest, OrderType, PositionSide, Side
from arbitrage.simulator.engine import Engine
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument, LeverageTier
from arbitrage.simulator.scenario import Scenario
from arbitrage.simulator.trading import execute_order
from arbitrage.simulator.venue import Venue, VenueConfig

S = "BTC/USDT:USDT"
D = Decimal
T0 = 1_800_000_000_000


class FakeClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def btc(**overrides: Any) -> Instrument:
    values: dict[str, Any] = {
        "symbol": S,
        "base": "BTC",
        "quote": "USDT",
        "tick_size": D("0.1"),
        "step_size": D("0.001"),
        "min_qty": D("0.002"),
        "max_qty": D("10"),
        "min_notional": D("100"),
        "tiers": [
            LeverageTier(D(0), D(50000), 125, D("0.004")),
            LeverageTier(D(50000), D(600000), 50, D("0.005")),
        ],
        "mark_price": D("60000"),
        "taker_fee": D("0.0005"),
        "default_leverage": 20,
        "funding_rate": D("0.0001"),
        "funding_interval_s": 8 * 3600,
        "next_funding_time": T0 + 60_000,
    }
    values.update(overrides)
    return Instrument(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> Engine:
    engine = Engine(clock)
    engine.add_venue("binanceusdm")
    engine.add_instrument("binanceusdm", btc())
    engine.add_account("binanceusdm", "key", "secret", "10000")
    engine.add_account("binanceusdm", "hedge-key", "secret2", "10000", hedge_mode=True)
    return engine


@pytest.fixture
def venue(engine: Engine) -> Venue:
    return engine.venue("binanceusdm")


@pytest.fixture
def account(venue: Venue) -> Account:
    return venue.account_by_key("key")


@pytest.fixture
def hedge(venue: Venue) -> Account:
    return venue.account_by_key("hedge-key")


def buy(qty: str, **kwargs: Any) -> OrderRequest:
    return OrderRequest(S, Side.BUY, D(qty), **kwargs)


def sell(qty: str, **kwargs: Any) -> OrderRequest:
    return OrderRequest(S, Side.SELL, D(qty), **kwargs)


@pytest.mark.parametrize(
    ("request_", "kind"),
    [
        (OrderRequest("XRP/USDT:USDT", Side.BUY, D("1")), ErrorKind.UNKNOWN_SYMBOL),
        (buy("0.01", order_type=OrderType.LIMIT, price=D("60000")), ErrorKind.ORDER_TYPE_UNSUPPORTED),
        (buy("0"), ErrorKind.INVALID_QUANTITY),
        (buy("-0.01"), ErrorKind.INVALID_QUANTITY),
        (buy("0.0105"), ErrorKind.QUANTITY_STEP),
        (buy("0.001"), ErrorKind.QUANTITY_BELOW_MIN),
        (buy("10.001"), ErrorKind.QUANTITY_ABOVE_MAX),
        (buy("0.002"), ErrorKind.NOTIONAL_BELOW_MIN),  # the test lowers the mark so that 0.002 BTC < 100 USDT
        (buy("0.01", reduce_only=True), ErrorKind.NO_POSITION),
        (buy("0.01", position_side=PositionSide.LONG), ErrorKind.POSITION_SIDE_MISMATCH),
        (buy("4"), ErrorKind.INSUFFICIENT_MARGIN),  # 240 000 / 20 = 12 000 > 10 000
    ],
)
def test_order_rejections(venue: Venue, account: Account, request_: OrderRequest, kind: ErrorKind) -> None:
    if kind is ErrorKind.NOTIONAL_BELOW_MIN:
        venue.instrument(S).mark_price = D("40000")  # 0.002 × 40 000 = 80 < 100
    with pytest.raises(SimError) as caught:
        execute_order(venue, account, request_)
    assert caught.value.kind is kind
    assert account.orders == []
    assert account.balance == D("10000")


def test_delisted_symbol_rejected(engine: Engine, venue: Venue, account: Account) -> None:
    engine.delist("binanceusdm", S)
    with pytest.raises(SimError) as caught:
        execute_order(venue, account, buy("0.01"))
    assert caught.value.kind is ErrorKind.SYMBOL_DELISTED


def test_market_order_fills_at_mark_with_taker_fee(venue: Venue, account: Account) -> None:
    order = execute_order(venue, account, buy("0.01", client_order_id="c1"))
    assert order.avg_price == D("60000")
    assert order.cum_quote == D("600")
    assert order.fee == D("0.3")
    assert account.balance == D("9999.7")
    assert account.fees_paid == D("0.3")
    assert venue.get_order(account, S, client_order_id="c1") is order
    assert venue.get_order(account, S, order_id=order.id) is order
    [view] = venue.position_views(account)
    assert view.position.size == D("0.01")
    assert view.initial_margin == D("30")  # 600 / 20
    assert venue.balance(account).available == D("9969.7")


def test_slippage_moves_fill_price_against_taker(engine: Engine, account: Account) -> None:
    venue = engine.venue("binanceusdm")
    venue.config.slippage_bps = D("10")
    assert execute_order(venue, account, buy("0.01")).avg_price == D("60060")
    assert execute_order(venue, account, sell("0.01")).avg_price == D("59940")


def test_duplicate_client_order_id_rejected(venue: Venue, account: Account) -> None:
    execute_order(venue, account, buy("0.01", client_order_id="same"))
    with pytest.raises(SimError) as caught:
        execute_order(venue, account, buy("0.01", client_order_id="same"))
    assert caught.value.kind is ErrorKind.DUPLICATE_CLIENT_ORDER_ID
    assert len(account.orders) == 1


def test_unknown_order_lookup(venue: Venue, account: Account) -> None:
    with pytest.raises(SimError) as caught:
        venue.get_order(account, S, client_order_id="nope")
    assert caught.value.kind is ErrorKind.ORDER_NOT_FOUND


@pytest.mark.parametrize(
    ("close", "kind"),
    [
        (sell("0.02", reduce_only=True), ErrorKind.REDUCE_ONLY_REJECTED),  # would flip long 0.01 → short 0.01
        (buy("0.01", reduce_only=True), ErrorKind.REDUCE_ONLY_REJECTED),  # would increase the long
    ],
)
def test_reduce_only_cannot_increase_or_flip(venue: Venue, account: Account, close: OrderRequest, kind: ErrorKind) -> None:
    execute_order(venue, account, buy("0.01"))
    with pytest.raises(SimError) as caught:
        execute_order(venue, account, close)
    assert caught.value.kind is kind
    assert account.position(S, PositionSide.BOTH).size == D("0.01")


def test_reduce_only_close_skips_min_notional_and_realizes_pnl(venue: Venue, account: Account) -> None:
    execute_order(venue, account, buy("0.01"))
    instrument = venue.instrument(S)
    instrument.mark_price = D("61000")
    instrument.min_notional = D("500")
    with pytest.raises(SimError) as caught:
        execute_order(venue, account, sell("0.002"))  # 122 USDT, not reduce-only: min notional applies
    assert caught.value.kind is ErrorKind.NOTIONAL_BELOW_MIN
    close = execute_order(venue, account, sell("0.002", reduce_only=True))  # reduce-only: allowed
    assert close.realized_pnl == D("2")  # (61000 − 60000) × 0.002
    execute_order(venue, account, sell("0.008", reduce_only=True))
    assert account.open_positions() == []
    assert account.realized_pnl == D("10")
    fees = D("0.3") + D("0.061") + D("0.244")
    assert account.balance == D("10000") + D("10") - fees


def test_one_way_weighted_entry_and_flip(venue: Venue, account: Account) -> None:
    execute_order(venue, account, buy("0.01"))
    venue.instrument(S).mark_price = D("63000")
    execute_order(venue, account, buy("0.02"))
    position = account.position(S, PositionSide.BOTH)
    assert position.entry_price == D("62000")  # (0.01 × 60000 + 0.02 × 63000) / 0.03
    order = execute_order(venue, account, sell("0.05"))  # closes 0.03, opens short 0.02 at 63000
    assert order.realized_pnl == D("30")  # (63000 − 62000) × 0.03
    position = account.position(S, PositionSide.BOTH)
    assert position.size == D("-0.02")
    assert position.entry_price == D("63000")


def test_hedge_mode_keeps_long_and_short_apart(venue: Venue, hedge: Account) -> None:
    execute_order(venue, hedge, buy("0.01", position_side=PositionSide.LONG))
    execute_order(venue, hedge, sell("0.02", position_side=PositionSide.SHORT))
    assert hedge.position(S, PositionSide.LONG).size == D("0.01")
    assert hedge.position(S, PositionSide.SHORT).size == D("-0.02")
    execute_order(venue, hedge, sell("0.01", position_side=PositionSide.LONG))  # close the long
    assert hedge.position(S, PositionSide.LONG) is None
    assert hedge.position(S, PositionSide.SHORT).size == D("-0.02")
    with pytest.raises(SimError) as caught:
        execute_order(venue, hedge, sell("0.01", position_side=PositionSide.LONG))
    assert caught.value.kind is ErrorKind.NO_POSITION
    with pytest.raises(SimError) as caught:
        execute_order(venue, hedge, buy("0.03", position_side=PositionSide.SHORT))
    assert caught.value.kind is ErrorKind.REDUCE_ONLY_REJECTED
    with pytest.raises(SimError) as caught:
        execute_order(venue, hedge, buy("0.01"))
    assert caught.value.kind is ErrorKind.POSITION_SIDE_MISMATCH


@pytest.mark.parametrize(
    ("position_qty", "leverage", "kind"),
    [
        (None, 125, None),
        (None, 126, ErrorKind.LEVERAGE_OUT_OF_RANGE),
        (None, 0, ErrorKind.LEVERAGE_OUT_OF_RANGE),
        ("1", 50, None),  # 60 000 notional → tier 2, max 50
        ("1", 51, ErrorKind.LEVERAGE_OUT_OF_RANGE),
    ],
)
def test_leverage_range_follows_tier_of_position(
    venue: Venue, account: Account, position_qty: str | None, leverage: int, kind: ErrorKind | None
) -> None:
    if position_qty:
        execute_order(venue, account, buy(position_qty))
    if kind is None:
        change = venue.set_leverage(account, S, leverage)
        assert (change.long, change.short) == (leverage, leverage)
    else:
        with pytest.raises(SimError) as caught:
            venue.set_leverage(account, S, leverage)
        assert caught.value.kind is kind


def test_set_leverage_reports_unchanged(venue: Venue, account: Account) -> None:
    assert venue.set_leverage(account, S, 5).changed is True
    assert venue.set_leverage(account, S, 5).changed is False


def test_hedge_leverage_per_side(venue: Venue, hedge: Account) -> None:
    venue.set_leverage(hedge, S, 7, PositionSide.LONG)
    venue.set_leverage(hedge, S, 3, PositionSide.SHORT)
    assert venue.leverage(hedge, S) == {PositionSide.LONG: 7, PositionSide.SHORT: 3}


def test_venue_may_refuse_leverage_change_with_open_position(clock: FakeClock) -> None:
    engine = Engine(clock)
    engine.add_venue("bingx")  # known default: refuse_leverage_change_with_position
    engine.add_instrument("bingx", btc())
    account = engine.add_account("bingx", "k", "s", "10000")
    venue = engine.venue("bingx")
    execute_order(venue, account, buy("0.01"))
    with pytest.raises(SimError) as caught:
        venue.set_leverage(account, S, 10)
    assert caught.value.kind is ErrorKind.LEVERAGE_POSITION_OPEN
    assert venue.set_leverage(account, S, 20).changed is False  # unchanged is not a change


def test_order_beyond_tier_for_current_leverage_rejected(venue: Venue, account: Account) -> None:
    venue.set_leverage(account, S, 100)
    with pytest.raises(SimError) as caught:
        execute_order(venue, account, buy("1"))  # 60 000 notional needs ≤ 50×
    assert caught.value.kind is ErrorKind.POSITION_EXCEEDS_LEVERAGE_TIER


def test_position_and_margin_mode_changes(venue: Venue, account: Account) -> None:
    with pytest.raises(SimError) as caught:
        venue.set_position_mode(account, False)
    assert caught.value.kind is ErrorKind.POSITION_MODE_NOT_MODIFIED
    venue.set_margin_mode(account, S, MarginMode.ISOLATED)
    with pytest.raises(SimError) as caught:
        venue.set_margin_mode(account, S, MarginMode.ISOLATED)
    assert caught.value.kind is ErrorKind.MARGIN_MODE_NOT_MODIFIED
    execute_order(venue, account, buy("0.01"))
    with pytest.raises(SimError) as caught:
        venue.set_position_mode(account, True)
    assert caught.value.kind is ErrorKind.POSITION_MODE_POSITION_OPEN
    with pytest.raises(SimError) as caught:
        venue.set_margin_mode(account, S, MarginMode.CROSS)
    assert caught.value.kind is ErrorKind.MARGIN_MODE_POSITION_OPEN


@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [
        (Side.BUY, "0.0001", "-0.6"),  # long pays a positive rate: 0.1 × 60 000 × 0.0001
        (Side.SELL, "0.0001", "0.6"),  # short receives it
        (Side.BUY, "-0.0002", "1.2"),  # long receives a negative rate
        (Side.SELL, "-0.0002", "-1.2"),
    ],
)
def test_funding_sign(engine: Engine, clock: FakeClock, account: Account, side: Side, rate: str, expected: str) -> None:
    venue = engine.venue("binanceusdm")
    execute_order(venue, account, OrderRequest(S, side, D("0.1")))
    engine.set_funding("binanceusdm", S, rate=rate)
    balance_before = account.balance
    clock.advance(60_000)
    [settlement] = engine.process_due()
    [payment] = settlement.records
    assert payment.amount == D(expected)
    assert account.balance == balance_before + D(expected)
    assert account.funding_history == [payment]
    assert payment.position_value == D("6000")
    assert venue.instrument(S).next_funding_time == T0 + 60_000 + 8 * 3600 * 1000


def test_funding_delay_snapshots_at_funding_time_and_pays_later(engine: Engine, clock: FakeClock, account: Account) -> None:
    venue = engine.venue("binanceusdm")
    execute_order(venue, account, buy("0.1"))
    engine.set_funding("binanceusdm", S, delay_s=5)
    balance_before = account.balance
    clock.advance(60_000)
    assert engine.process_due() == []  # snapshotted, not yet paid
    execute_order(venue, account, sell("0.1", reduce_only=True))  # closing after the instant does not matter
    balance_after_close = account.balance
    assert account.funding_history == []
    clock.advance(5_000)
    [settlement] = engine.process_due()
    assert settlement.records[0].amount == D("-0.6")
    assert settlement.records[0].paid_time == T0 + 65_000
    assert account.balance == balance_after_close - D("0.6")
    assert balance_before > balance_after_close


def test_missed_funding_instants_are_caught_up(engine: Engine, clock: FakeClock, account: Account) -> None:
    execute_order(engine.venue("binanceusdm"), account, buy("0.1"))
    engine.set_funding("binanceusdm", S, interval_s=10)
    clock.advance(60_000 + 25_000)  # instants at +60 s, +70 s, +80 s
    assert [s.funding_time for s in engine.process_due()] == [T0 + 60_000, T0 + 70_000, T0 + 80_000]
    assert len(account.funding_history) == 3


async def test_wait_for_settlement_wakes_on_the_background_clock() -> None:
    engine = Engine()
    engine.add_venue("binanceusdm")
    engine.add_instrument("binanceusdm", btc(next_funding_time=engine.now() + 100_000))
    account = engine.add_account("binanceusdm", "k", "s", "10000")
    execute_order(engine.venue("binanceusdm"), account, OrderRequest(S, Side.SELL, D("0.1")))
    engine.start()
    try:
        instrument = engine.set_funding("binanceusdm", S, next_funding_in_seconds=0.2, delay_s=0.1)
        settlement = await engine.wait_for_settlement("binanceusdm", S, instrument.next_funding_time - 0, timeout=3)
        assert settlement.records[0].amount == D("0.6")
        assert engine.now() >= settlement.due_time
        with pytest.raises(asyncio.TimeoutError):
            await engine.wait_for_settlement("binanceusdm", S, timeout=0.05)  # next one is 8 h away
    finally:
        await engine.stop()


def test_uuid_ids_are_deterministic(clock: FakeClock) -> None:
    first, second = Venue(VenueConfig.for_exchange("bybit"), clock), Venue(VenueConfig.for_exchange("bybit"), clock)
    ids = [first.next_id("order") for _ in range(3)]
    assert ids == [second.next_id("order") for _ in range(3)]
    assert len(set(ids)) == 3 and all(len(item) == 36 for item in ids)
    assert Venue(VenueConfig.for_exchange("binanceusdm"), clock).next_id("order") == "4000000001"


def test_reset_rebuilds_from_scenario_and_dump_is_json(clock: FakeClock) -> None:
    engine = Engine(clock)
    Scenario(
        {
            "venues": {
                "binanceusdm": {
                    "instruments": [
                        {
                            "symbol": S,
                            "tick_size": "0.1",
                            "step_size": "0.001",
                            "min_qty": "0.001",
                            "max_qty": "100",
                            "min_notional": "5",
                            "tiers": [[0, 50000, 125, "0.004"]],
                            "mark_price": "60000",
                            "next_funding_in_seconds": 2,
                        }
                    ],
                    "accounts": [{"api_key": "k", "secret": "s", "balance": "500"}],
                }
            }
        }
    ).apply(engine)
    venue = engine.venue("binanceusdm")
    assert venue.instrument(S).next_funding_time == T0 + 2000
    execute_order(venue, venue.default_account(), buy("0.001"))
    json.dumps(engine.dump())
    clock.advance(10_000)
    engine.reset()
    venue = engine.venue("binanceusdm")
    assert venue.default_account().balance == D("500") and venue.default_account().orders == []
    assert venue.instrument(S).next_funding_time == T0 + 12_000


async def test_wait_for_settlement_default_targets_a_delayed_snapshot(
    engine: Engine, clock: FakeClock, account: Account
) -> None:
    execute_order(engine.venue("binanceusdm"), account, buy("0.1"))
    engine.set_funding("binanceusdm", S, delay_s=5)
    clock.advance(60_000)
    engine.process_due()  # snapshotted at T0 + 60 s, payable at T0 + 65 s
    waiting = asyncio.ensure_future(engine.wait_for_settlement("binanceusdm", S, timeout=2))
    await asyncio.sleep(0)
    assert not waiting.done()
    clock.advance(5_000)
    engine.process_due()
    settlement = await waiting
    assert settlement.funding_time == T0 + 60_000 and settlement.records[0].amount == D("-0.6")
