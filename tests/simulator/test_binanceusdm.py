"""Unmodified ccxt binanceusdm against the simulator over loopback HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
SOL = "SOL/USDT:USDT"
VENUE = "binanceusdm"


def account(sim: SimulatorServer) -> Any:
    return sim.engine.account(VENUE)


async def test_load_markets_reads_filters_and_currencies(sim: SimulatorServer, binance: Any) -> None:
    market = binance.market(S)
    assert market["id"] == "BTCUSDT" and market["linear"] and market["contractSize"] == 1
    assert market["precision"]["amount"] == 0.001 and market["precision"]["price"] == 0.1
    assert market["limits"]["cost"]["min"] == 100 and market["limits"]["market"]["max"] == 120
    assert set(binance.markets) == {S, ETH, SOL}
    assert "USDT" in binance.currencies
    signed = sim.requests.query(exchange=VENUE, path="/sapi/v1/*")
    assert [record.path for record in signed] == ["/sapi/v1/capital/config/getall", "/sapi/v1/margin/allPairs"]
    assert all(record.params["signature"] == "<redacted>" for record in signed)


async def test_fetch_funding_rate(sim: SimulatorServer, binance: Any) -> None:
    instrument = sim.engine.venue(VENUE).instrument(S)
    rate = await binance.fetch_funding_rate(S)
    assert rate["fundingRate"] == 0.0001
    assert rate["fundingTimestamp"] == instrument.next_funding_time
    assert rate["markPrice"] == 60000


async def test_set_and_fetch_leverage(sim: SimulatorServer, binance: Any) -> None:
    response = await binance.set_leverage(10, S)
    assert response == {"leverage": 10, "maxNotionalValue": "230000000", "symbol": "BTCUSDT"}
    [record] = sim.requests.query(exchange=VENUE, path="/fapi/v1/leverage")
    assert record.method == "POST" and record.params["symbol"] == "BTCUSDT" and record.params["leverage"] == "10"
    leverage = await binance.fetch_leverage(S)
    assert (leverage["longLeverage"], leverage["shortLeverage"], leverage["marginMode"]) == (10, 10, "cross")


async def test_set_leverage_rejections(sim: SimulatorServer, binance: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="-4028"):
        await binance.set_leverage(100, SOL)  # SOL max is 75
    await binance.create_order(S, "market", "buy", 1.0)  # 60 000 notional → tier 2 (max 100)
    with pytest.raises(ccxt.BadRequest, match="-4028"):
        await binance.set_leverage(110, S)
    await binance.set_leverage(100, S)


async def test_fetch_leverage_tiers(sim: SimulatorServer, binance: Any) -> None:
    tiers = (await binance.fetch_leverage_tiers([S]))[S]
    expected = sim.engine.venue(VENUE).instrument(S).tiers
    assert [(t["minNotional"], t["maxNotional"], t["maxLeverage"]) for t in tiers] == [
        (float(t.notional_floor), float(t.notional_cap), t.max_leverage) for t in expected
    ]


async def test_order_lifecycle(sim: SimulatorServer, binance: Any) -> None:
    opened = await binance.create_order(S, "market", "buy", 0.0123, params={"clientOrderId": "open-1"})
    assert opened["status"] == "closed" and opened["filled"] == 0.012 and opened["clientOrderId"] == "open-1"
    assert opened["average"] == 60000
    by_id = await binance.fetch_order(opened["id"], S)
    by_client = await binance.fetch_order(None, S, {"clientOrderId": "open-1"})
    assert by_id["id"] == by_client["id"] == opened["id"]

    [position] = await binance.fetch_positions([S])
    assert (position["side"], position["contracts"], position["entryPrice"]) == ("long", 0.012, 60000)

    sim.engine.set_mark_price(VENUE, S, "61000")
    closed = await binance.create_order(S, "market", "sell", 0.012, params={"reduceOnly": True, "clientOrderId": "close-1"})
    assert closed["reduceOnly"] is True and closed["status"] == "closed"
    assert await binance.fetch_positions([S]) == []
    assert account(sim).realized_pnl == Decimal("12")  # (61000 − 60000) × 0.012

    balance = await binance.fetch_balance()
    fees = Decimal("720") * Decimal("0.0005") + Decimal("732") * Decimal("0.0005")
    assert Decimal(str(balance["USDT"]["total"])) == Decimal("10000") + Decimal("12") - fees
    trades = await binance.fetch_my_trades(S)
    assert [trade["side"] for trade in trades] == ["buy", "sell"]
    [close_trade] = await binance.fetch_my_trades(S, params={"orderId": closed["id"]})  # one order's trades only
    assert (close_trade["order"], close_trade["side"]) == (closed["id"], "sell")


async def test_hedge_mode_orders(sim: SimulatorServer, binance: Any) -> None:
    await binance.set_position_mode(True)
    assert (await binance.fetch_position_mode())["hedged"] is True
    with pytest.raises(ccxt.OperationRejected, match="-4061"):
        await binance.create_order(S, "market", "buy", 0.01)  # positionSide BOTH in hedge mode
    await binance.create_order(S, "market", "buy", 0.01, params={"positionSide": "LONG"})
    await binance.create_order(S, "market", "sell", 0.02, params={"positionSide": "SHORT"})
    sides = sorted((p["side"], p["contracts"]) for p in await binance.fetch_positions([S]))
    assert sides == [("long", 0.01), ("short", 0.02)]
    await binance.create_order(S, "market", "sell", 0.01, params={"reduceOnly": True, "hedged": True})
    assert [p["side"] for p in await binance.fetch_positions([S])] == ["short"]
    with pytest.raises(ccxt.OperationRejected, match="-4068"):
        await binance.set_position_mode(False)


async def test_margin_mode(binance: Any) -> None:
    await binance.set_margin_mode("isolated", S)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        await binance.set_margin_mode("isolated", S)
    assert (await binance.fetch_leverage(S))["marginMode"] == "isolated"


@pytest.mark.parametrize(
    ("amount", "params", "error", "code"),
    [
        (4.0, {}, ccxt.InsufficientFunds, "-2019"),  # 240 000 / 20 = 12 000 margin > 10 000
        (0.001, {}, ccxt.InvalidOrder, "-4164"),  # 60 USDT < 100 min notional
        (0.01, {"reduceOnly": True}, ccxt.InvalidOrder, "-2022"),  # nothing to reduce
    ],
)
async def test_order_rejections(
    sim: SimulatorServer, binance: Any, amount: float, params: dict[str, Any], error: type[Exception], code: str
) -> None:
    with pytest.raises(error, match=code):
        await binance.create_order(S, "market", "buy", amount, params=params)
    assert account(sim).orders == []


async def test_duplicate_client_order_id(binance: Any) -> None:
    await binance.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):
        await binance.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "dup"})


@pytest.mark.parametrize(
    ("params", "error", "code"),
    [
        ({"symbol": "XRPUSDT", "quantity": "1"}, ccxt.BadSymbol, "-1121"),
        ({"symbol": "BTCUSDT", "quantity": "0.0105"}, ccxt.BadRequest, "-1111"),  # not a multiple of the step
        ({"symbol": "BTCUSDT", "quantity": "121"}, ccxt.BadRequest, "-4005"),
    ],
)
async def test_raw_order_rejections(binance: Any, params: dict[str, Any], error: type[Exception], code: str) -> None:
    # ccxt's implicit API skips the client-side precision/symbol checks, so the simulator's rules are reached
    with pytest.raises(error, match=code):
        await binance.fapiPrivatePostOrder({"side": "BUY", "type": "MARKET", **params})


async def test_fetch_order_unknown(binance: Any) -> None:
    with pytest.raises(ccxt.OrderNotFound, match="-2013"):
        await binance.fetch_order(None, S, {"clientOrderId": "never-sent"})


async def test_funding_history_after_settlement(sim: SimulatorServer, binance: Any) -> None:
    await binance.create_order(S, "market", "buy", 0.1)
    await binance.create_order(ETH, "market", "sell", 1.0)
    engine = sim.engine
    funding_time = engine.set_funding(VENUE, S, next_funding_in_seconds=0.3).next_funding_time
    engine.set_funding(VENUE, ETH, next_funding_time=funding_time)
    before = account(sim).balance
    await engine.wait_for_settlement(VENUE, S, funding_time, timeout=5)
    await engine.wait_for_settlement(VENUE, ETH, funding_time, timeout=5)

    btc_history = await binance.fetch_funding_history(S)
    eth_history = await binance.fetch_funding_history(ETH)
    assert [row["amount"] for row in btc_history] == [-0.6]  # long pays 0.1 × 60 000 × 0.0001
    assert [row["amount"] for row in eth_history] == [0.24]  # short receives 1 × 3000 × 0.00008
    assert btc_history[0]["timestamp"] == funding_time and btc_history[0]["code"] == "USDT"
    assert account(sim).balance == before - Decimal("0.6") + Decimal("0.24")
    rates = await binance.fetch_funding_rate_history(S)
    assert [(r["timestamp"], r["fundingRate"]) for r in rates] == [(funding_time, 0.0001)]


async def test_bad_signature(make_binance: Any) -> None:
    exchange = make_binance(secret="not-the-secret", options={"fetchCurrencies": False})
    await exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        await exchange.fetch_balance()


async def test_wrong_key(make_binance: Any) -> None:
    exchange = make_binance(apiKey="unknown-key", options={"fetchCurrencies": False})
    await exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        await exchange.fetch_balance()


async def test_stale_timestamp(make_binance: Any) -> None:
    exchange = make_binance(options={"fetchCurrencies": False})
    await exchange.load_markets()
    exchange.options["timeDifference"] = 20_000  # nonce 20 s in the past > recvWindow 10 s
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        await exchange.fetch_balance()


# The keys of the bodies ccxt 4.5.90 was verified against.
APPENDIX_C_KEYS = {
    "order": {"orderId", "symbol", "status", "clientOrderId", "price", "avgPrice", "origQty", "executedQty", "cumQty",
              "cumQuote", "timeInForce", "type", "reduceOnly", "closePosition", "side", "positionSide", "stopPrice",
              "workingType", "priceProtect", "origType", "priceMatch", "selfTradePreventionMode", "goodTillDate",
              "updateTime"},
    "positionRisk": {"symbol", "positionSide", "positionAmt", "entryPrice", "breakEvenPrice", "markPrice",
                     "unRealizedProfit", "liquidationPrice", "isolatedMargin", "notional", "marginAsset",
                     "isolatedWallet", "initialMargin", "maintMargin", "positionInitialMargin",
                     "openOrderInitialMargin", "adl", "bidNotional", "askNotional", "updateTime"},
    "premiumIndex": {"symbol", "markPrice", "indexPrice", "estimatedSettlePrice", "lastFundingRate", "interestRate",
                     "nextFundingTime", "time"},
    "account": {"totalInitialMargin", "totalMaintMargin", "totalWalletBalance", "totalUnrealizedProfit",
                "totalMarginBalance", "totalPositionInitialMargin", "totalOpenOrderInitialMargin",
                "totalCrossWalletBalance", "totalCrossUnPnl", "availableBalance", "maxWithdrawAmount", "assets",
                "positions"},
    "bracket": {"bracket", "initialLeverage", "notionalCap", "notionalFloor", "maintMarginRatio", "cum"},
    "income": {"symbol", "incomeType", "income", "asset", "info", "time", "tranId", "tradeId"},
}


async def test_bodies_have_appendix_c_keys(sim: SimulatorServer, binance: Any) -> None:
    order = await binance.create_order(S, "market", "buy", 0.01)
    assert set(order["info"]) == APPENDIX_C_KEYS["order"]
    assert set((await binance.fetch_order(order["id"], S))["info"]) == APPENDIX_C_KEYS["order"] | {"time"}
    [position] = await binance.fetch_positions([S])
    assert set(position["info"]) == APPENDIX_C_KEYS["positionRisk"]
    assert set((await binance.fetch_funding_rate(S))["info"]) == APPENDIX_C_KEYS["premiumIndex"]
    balance = await binance.fetch_balance()
    assert set(balance["info"]) == APPENDIX_C_KEYS["account"]
    assert balance["info"]["assets"][0]["updateTime"] != 0
    tiers = await binance.fetch_leverage_tiers([S])
    assert set(tiers[S][0]["info"]) == APPENDIX_C_KEYS["bracket"]
    sim.engine.set_funding(VENUE, S, next_funding_in_seconds=0.05)
    await sim.engine.wait_for_settlement(VENUE, S, timeout=5)
    [income] = await binance.fetch_funding_history(S)
    assert set(income["info"]) == APPENDIX_C_KEYS["income"]


async def test_time_ticker_and_cancel_of_filled_order(sim: SimulatorServer, binance: Any) -> None:
    assert abs(await binance.fetch_time() - sim.engine.now()) < 5_000
    ticker = await binance.fetch_ticker(S)
    assert ticker["last"] == 60000
    rates = await binance.fetch_funding_rates([S, ETH])
    assert set(rates) == {S, ETH}
    order = await binance.create_order(S, "market", "buy", 0.01)
    assert await binance.fetch_open_orders(S) == []
    with pytest.raises(ccxt.OrderNotFound, match="-2011"):
        await binance.cancel_order(order["id"], S)  # market orders fill at once: nothing to cancel
