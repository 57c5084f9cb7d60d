"""Our connectors over UNMODIFIED ccxt against the simulator (loopback HTTP), the same tests for every exchange."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.connector import ExchangeError, OrderNotFound, OrderState, PositionMode
from arbitrage.exchanges.factory import build_connectors
from arbitrage.settings import Settings
from arbitrage.simulator.order_requests import ORDER_PATHS
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
# A signed read every connector call below goes through (for 5xx faults).
BALANCE_PATHS = {
    "binanceusdm": "/fapi/v3/account",
    "bybit": "/v5/account/wallet-balance",
    "bingx": "/openApi/swap/v3/user/balance",
    "mexc": "/api/v1/private/account/assets",
}


AMOUNT = Decimal("0.01")  # BTC: a valid step on every venue (100 contracts on MEXC), 600 USDT notional
MakeConnector = Callable[..., Awaitable[CcxtConnector]]


async def test_market_rules_in_base_units(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> None:
    instrument = sim.engine.venue(exchange_id).instrument(S)
    market = connector.market(S)
    assert market.symbol == S and market.active
    assert market.contract_size == instrument.contract_size
    # Simulator steps are in the venue's order unit (contracts on MEXC): base = contracts × contract size.
    assert market.step_size == instrument.step_size * instrument.contract_size
    assert market.min_qty == instrument.min_qty * instrument.contract_size
    assert market.tick_size == instrument.tick_size
    assert S in {m.symbol for m in connector.markets()}
    with pytest.raises(ExchangeError) as raised:
        connector.market("NOPE/USDT:USDT")
    assert raised.value.kind == "unknown_symbol"


async def test_mexc_step_is_vol_unit_times_contract_size(sim: SimulatorServer, make_registry) -> None:  # type: ignore[no-untyped-def]
    connector = make_registry().get("mexc")
    try:
        await connector.load_markets()
    except ExchangeError as error:
        pytest.skip(f"mexc dialect unavailable: {error}")
    assert connector.market(S).step_size == Decimal("0.0001")  # volUnit 1 contract × contractSize 0.0001 BTC


async def test_funding_rate_and_next_time(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> None:
    instrument = sim.engine.venue(exchange_id).instrument(S)
    info = await connector.fetch_funding_rate(S)
    assert info.rate == instrument.funding_rate
    assert info.next_funding_time == datetime.fromtimestamp(instrument.next_funding_time / 1000, tz=UTC)


async def test_leverage_round_trip_and_rejection(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    await connector.set_leverage(S, 7)
    assert (await connector.fetch_leverage(S)).matches(7)
    await connector.set_leverage(S, 7)  # unchanged (bybit answers 110043) is success
    assert (await connector.fetch_leverage(S)).matches(7)

    max_leverage = sim.engine.venue(exchange_id).instrument(S).max_leverage
    with pytest.raises(ExchangeError) as raised:
        await connector.set_leverage(S, max_leverage + 1)
    assert raised.value.kind == "leverage" and not raised.value.retryable
    assert raised.value.hint == f"max is {max_leverage} at this notional; lower --leverage"
    assert (await connector.fetch_leverage(S)).matches(7)


async def test_leverage_tiers_are_in_quote_notional(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    instrument = sim.engine.venue(exchange_id).instrument(S)
    tiers = await connector.leverage_tiers(S)
    assert tiers[0].notional_floor == 0 and tiers[0].max_leverage == instrument.max_leverage
    if exchange_id in ("binanceusdm", "bybit"):
        assert [(t.notional_cap, t.max_leverage) for t in tiers] == [
            (t.notional_cap, t.max_leverage) for t in instrument.tiers
        ]


async def test_position_mode(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> None:
    assert await connector.position_mode() is PositionMode.ONE_WAY
    sim.engine.set_position_mode(exchange_id, True)
    assert await connector.position_mode() is PositionMode.HEDGE


async def test_open_look_up_and_close(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> None:
    instrument = sim.engine.venue(exchange_id).instrument(S)
    opened = await connector.create_market_order(S, "buy", AMOUNT, "arb-open-1", position_side="LONG")
    assert opened.state is OrderState.FILLED and opened.side == "buy"
    assert opened.filled == AMOUNT and opened.amount == AMOUNT  # base units on every venue
    assert opened.average_price == instrument.mark_price
    assert opened.fee == AMOUNT * instrument.mark_price * instrument.taker_fee
    assert opened.client_order_id == "arb-open-1" and opened.exchange_order_id

    by_client = await connector.fetch_order(S, "arb-open-1")
    by_id = await connector.fetch_order(S, "arb-open-1", opened.exchange_order_id)
    for found in (by_client, by_id):
        assert found.state is OrderState.FILLED and found.exchange_order_id == opened.exchange_order_id
        assert (found.filled, found.side, found.average_price) == (AMOUNT, "buy", instrument.mark_price)

    [position] = await connector.fetch_positions(S)
    assert (position.side, position.amount, position.entry_price) == ("LONG", AMOUNT, instrument.mark_price)

    closed = await connector.create_market_order(
        S, "sell", AMOUNT, "arb-close-1", reduce_only=True, position_side="LONG"
    )
    assert closed.state is OrderState.FILLED and closed.filled == AMOUNT and closed.side == "sell"
    assert await connector.fetch_positions(S) == []


async def test_unknown_client_order_id_is_order_not_found(connector: CcxtConnector) -> None:
    with pytest.raises(OrderNotFound):
        await connector.fetch_order(S, "never-sent-1")


async def test_lost_response_is_outcome_unknown_then_found(
    sim: SimulatorServer, make_connector: MakeConnector, exchange_id: str
) -> None:
    connector = await make_connector(order_timeout_seconds=0.5)
    await connector.position_mode()  # read before the fault so only the order request is affected
    sim.faults.add(
        action="lost_response", exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id], lost_delay_ms=3000
    )
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "sell", AMOUNT, "arb-lost-1")
    assert raised.value.outcome_unknown and raised.value.kind == "timeout"
    found = await connector.fetch_order(S, "arb-lost-1")
    assert found.state is OrderState.FILLED and found.filled == AMOUNT and found.side == "sell"


async def test_funding_payment_received_by_a_short(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    await connector.create_market_order(S, "sell", AMOUNT, "arb-short-1")
    instrument = sim.engine.set_funding(exchange_id, S, rate="0.0004", next_funding_in_seconds=0.3)
    funding_time = instrument.next_funding_time
    await sim.engine.wait_for_settlement(exchange_id, S, funding_time)
    [payment] = await connector.fetch_funding_payments(S, since)
    # a positive rate: longs pay, shorts receive (+) — for bybit this checks the execFee negation
    assert payment.amount == AMOUNT * instrument.mark_price * Decimal("0.0004")
    assert payment.symbol == S and payment.currency == "USDT" and payment.payment_id
    assert await connector.fetch_funding_payments(S, datetime.now(UTC) + timedelta(hours=1)) == []


FUNDING_HISTORY_PATHS = {
    "binanceusdm": "/fapi/v1/income",
    "bybit": "/v5/execution/list",
    "bingx": "/openApi/swap/v2/user/income",
    "mexc": "/api/v1/private/position/funding_records",
}


async def test_one_request_returns_every_symbols_funding(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    eth, eth_amount = "ETH/USDT:USDT", Decimal("0.1")
    await connector.create_market_order(S, "sell", AMOUNT, "arb-all-1")
    await connector.create_market_order(eth, "buy", eth_amount, "arb-all-2")
    btc = sim.engine.set_funding(exchange_id, S, rate="0.0004", next_funding_in_seconds=0.3)
    funding_time = btc.next_funding_time
    ether = sim.engine.set_funding(exchange_id, eth, rate="0.0002", next_funding_time=funding_time)
    await sim.engine.wait_for_settlement(exchange_id, S, funding_time)
    await sim.engine.wait_for_settlement(exchange_id, eth, funding_time)
    before = len(sim.requests.query(exchange=exchange_id, path=FUNDING_HISTORY_PATHS[exchange_id]))
    batch = await connector.fetch_all_funding_payments(since)
    assert len(sim.requests.query(exchange=exchange_id, path=FUNDING_HISTORY_PATHS[exchange_id])) == before + 1
    by_symbol = {payment.symbol: payment.amount for payment in batch.payments}
    # the short BTC receives a positive rate, the long ETH pays it
    assert by_symbol == {
        S: AMOUNT * btc.mark_price * Decimal("0.0004"),
        eth: -eth_amount * ether.mark_price * Decimal("0.0002"),
    }
    assert batch.complete


async def test_balance(connector: CcxtConnector) -> None:
    balance = await connector.fetch_balance()
    assert balance.currency == "USDT" and balance.free == Decimal(10000)


async def test_insufficient_funds_is_fatal_with_hint(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    sim.engine.set_balance(exchange_id, "1")
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT, "arb-poor-1")
    error = raised.value
    assert (error.kind, error.retryable, error.outcome_unknown) == ("insufficient_funds", False, False)
    assert error.hint == "top up or lower --amount/--leverage"
    assert "\n" not in error.user_message and "{" not in error.reason


async def test_server_error_is_retryable(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> None:
    sim.faults.add(action="http_5xx", exchange=exchange_id, path=BALANCE_PATHS[exchange_id], status=503, times=None)
    with pytest.raises(ExchangeError) as raised:
        await connector.fetch_balance()
    assert raised.value.retryable and raised.value.kind == "unavailable" and "<" not in raised.value.reason
    assert len(sim.requests.query(exchange=exchange_id, path=BALANCE_PATHS[exchange_id])) == 3  # retried


async def test_server_error_on_order_is_outcome_unknown(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    await connector.position_mode()
    sim.faults.add(action="http_5xx", exchange=exchange_id, path=ORDER_PATHS[exchange_id], status=503)
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT, "arb-5xx-1")
    assert raised.value.outcome_unknown
    assert len(sim.requests.query(exchange=exchange_id, method="POST", path=ORDER_PATHS[exchange_id])) == 1


async def test_bad_key_is_auth_error_without_secrets(
    sim: SimulatorServer, make_connector: MakeConnector, exchange_id: str
) -> None:
    bad_key, bad_secret = "bad-key-4f1e9a77", "bad-secret-c0ffee123456"
    connector = await make_connector(exchange_overrides={exchange_id: {"api_key": bad_key, "secret": bad_secret}})
    with pytest.raises(ExchangeError) as raised:
        await connector.fetch_balance()
    error = raised.value
    assert error.kind == "auth" and not error.retryable
    assert f"ARBITRAGE_EXCHANGES__{exchange_id.upper()}__API_KEY" in (error.hint or "")
    for text in (str(error), error.user_message, repr(error.__cause__), repr(error.__context__)):
        assert bad_key not in text and bad_secret not in text


async def test_hedge_mode_open_and_close_each_side(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    sim.engine.set_position_mode(exchange_id, True)
    assert await connector.position_mode() is PositionMode.HEDGE
    await connector.set_leverage(S, 5)
    assert (await connector.fetch_leverage(S)).matches(5)

    long = await connector.create_market_order(S, "buy", AMOUNT, "arb-h-long", position_side="LONG")
    short = await connector.create_market_order(S, "sell", AMOUNT, "arb-h-short", position_side="SHORT")
    assert long.state is short.state is OrderState.FILLED
    positions = {p.side: p.amount for p in await connector.fetch_positions(S)}
    assert positions == {"LONG": AMOUNT, "SHORT": AMOUNT}

    await connector.create_market_order(S, "sell", AMOUNT, "arb-h-close-long", reduce_only=True, position_side="LONG")
    assert {p.side for p in await connector.fetch_positions(S)} == {"SHORT"}
    await connector.create_market_order(S, "buy", AMOUNT, "arb-h-close-short", reduce_only=True, position_side="SHORT")
    assert await connector.fetch_positions(S) == []

    with pytest.raises(ExchangeError) as raised:  # contradictory intent is refused before sending
        await connector.create_market_order(S, "buy", AMOUNT, "arb-h-bad", reduce_only=True, position_side="LONG")
    assert raised.value.kind == "invalid_order"


async def test_amount_off_the_step_is_refused_before_sending(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    step = connector.market(S).step_size
    with pytest.raises(ExchangeError) as raised:
        await connector.create_market_order(S, "buy", AMOUNT + step / 2, "arb-offstep-1")
    assert raised.value.kind == "invalid_amount" and not raised.value.outcome_unknown
    assert sim.requests.query(exchange=exchange_id, path=ORDER_PATHS[exchange_id]) == []


async def test_bingx_leverage_change_with_open_position_is_explained(sim: SimulatorServer, make_registry) -> None:  # type: ignore[no-untyped-def]
    connector = make_registry().get("bingx")
    try:
        await connector.load_markets()
    except ExchangeError as error:
        pytest.skip(f"bingx dialect unavailable: {error}")
    await connector.create_market_order(S, "buy", AMOUNT, "arb-bx-1")
    with pytest.raises(ExchangeError) as raised:
        await connector.set_leverage(S, 9)
    assert raised.value.kind == "position_open"
    assert raised.value.hint == "close the open position on bingx first"


async def test_concurrent_first_loads_share_one_request(sim: SimulatorServer, make_registry) -> None:  # type: ignore[no-untyped-def]
    connector = make_registry().get("binanceusdm")
    with pytest.raises(ExchangeError) as raised:
        connector.market(S)
    assert raised.value.kind == "markets_not_loaded"
    await asyncio.gather(*(connector.load_markets() for _ in range(3)))
    await connector.load_markets()
    assert len(sim.requests.query(exchange="binanceusdm", path="/fapi/v1/exchangeInfo")) == 1
    await connector.load_markets(reload=True)
    assert len(sim.requests.query(exchange="binanceusdm", path="/fapi/v1/exchangeInfo")) == 2


def test_mexc_sandbox_is_a_clear_error() -> None:
    settings = Settings(_env_file=None, exchanges={"mexc": {"api_key": "k", "secret": "s", "sandbox": True}})  # type: ignore[call-arg]
    with pytest.raises(ExchangeError) as raised:
        build_connectors(settings)
    assert raised.value.kind == "not_supported" and "SANDBOX" in (raised.value.hint or "")


async def test_only_configured_exchanges_get_a_connector() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        exchanges={"bybit": {"api_key": "k", "secret": "s"}, "bingx": {"base_url": "http://127.0.0.1:1/bingx"}},
    )
    registry = build_connectors(settings)
    assert sorted(registry.connectors) == ["bingx", "bybit"]
    with pytest.raises(ExchangeError) as raised:
        registry.get("mexc")
    assert raised.value.kind == "not_configured"
    await registry.close()


async def test_leverage_above_the_tier_of_an_open_position(sim: SimulatorServer, make_registry) -> None:  # type: ignore[no-untyped-def]
    connector = make_registry().get("binanceusdm")
    await connector.load_markets()
    await connector.create_market_order(S, "buy", Decimal("1"), "arb-big-1")  # 60 000 USDT: tier 2, max 100
    with pytest.raises(ExchangeError) as raised:
        await connector.set_leverage(S, 110)
    assert raised.value.kind == "leverage" and raised.value.hint == "max is 100 at this notional; lower --leverage"
