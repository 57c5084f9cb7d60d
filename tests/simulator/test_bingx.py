"""Unmodified ccxt bingx (async) against the simulator over loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest
import yarl

from arbitrage.simulator.dialects.bingx.dialect import DIALECT, ERRORS
from arbitrage.simulator.engine import wall_clock_ms
from arbitrage.simulator.errors import ErrorKind
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
SOL = "SOL/USDT:USDT"
VENUE = "bingx"
ORDER = "/openApi/swap/v2/trade/order"
DAEMON_OPTIONS = {"defaultType": "swap"}  # the daemon's configuration


@pytest.fixture
def make_bingx(ccxt_client: Callable[..., Any]) -> Callable[..., Any]:
    """Factory for ccxt bingx clients (the daemon's configuration unless ``daemon=False``)."""

    def make(daemon: bool = True, **config: Any) -> Any:
        settings: dict[str, Any] = {}
        if daemon:
            settings = {"has": {"fetchCurrencies": False}, "options": dict(DAEMON_OPTIONS)}
        return ccxt_client(VENUE, **{**settings, **config})

    return make


@pytest.fixture
async def bingx(make_bingx: Callable[..., Any]) -> Any:
    exchange = make_bingx()
    await exchange.load_markets()
    return exchange


def account(sim: SimulatorServer) -> Any:
    return sim.engine.account(VENUE)


def paths(sim: SimulatorServer) -> list[str]:
    return [record.path for record in sim.requests.query(exchange=VENUE)]


# ----------------------------------------------------------------------------- markets and funding
async def test_load_markets_with_daemon_options(sim: SimulatorServer, bingx: Any) -> None:
    assert set(bingx.markets) == {S, ETH, SOL}
    market = bingx.market(S)
    assert (market["id"], market["type"], market["linear"], market["active"]) == ("BTC-USDT", "swap", True, True)
    assert (market["precision"]["amount"], market["precision"]["price"]) == (0.0001, 0.1)
    assert market["limits"]["amount"]["min"] == 0.0001 and market["limits"]["cost"]["min"] == 2
    assert bingx.market(ETH)["precision"]["amount"] == 0.01 and bingx.market(SOL)["precision"]["price"] == 0.001
    assert paths(sim) == [
        "/openApi/swap/v2/quote/contracts",
        "/openApi/cswap/v1/market/contracts",
        "/openApi/spot/v1/common/symbols",
    ]


async def test_load_markets_with_ccxt_defaults(sim: SimulatorServer, make_bingx: Any) -> None:
    exchange = make_bingx(daemon=False)
    await exchange.load_markets()
    assert bingx_swaps(exchange) == {S, ETH, SOL}
    assert "/openApi/wallets/v1/capital/config/getall" in paths(sim) and "USDT" in exchange.currencies
    spot = await exchange.fetch_balance()  # defaultType spot → the (empty) spot wallet, as on the real venue
    assert spot["total"] == {"USDT": 0.0}
    swap = await exchange.fetch_balance({"type": "swap"})
    assert swap["USDT"]["total"] == 10000


def bingx_swaps(exchange: Any) -> set[str]:
    return {symbol for symbol, market in exchange.markets.items() if market["swap"] and market["active"]}


async def test_fetch_funding_rate(sim: SimulatorServer, bingx: Any) -> None:
    instrument = sim.engine.venue(VENUE).instrument(S)
    rate = await bingx.fetch_funding_rate(S)
    assert rate["fundingRate"] == 0.00015 and rate["markPrice"] == 60000
    assert rate["nextFundingTimestamp"] == instrument.next_funding_time and rate["fundingTimestamp"] is None
    assert rate["interval"] == "8h"
    rates = await bingx.fetch_funding_rates([S, SOL])
    assert rates[SOL]["fundingRate"] == -0.00004


# ----------------------------------------------------------------------------- leverage
async def test_set_and_fetch_leverage(sim: SimulatorServer, bingx: Any) -> None:
    response = await bingx.set_leverage(10, S, {"side": "BOTH"})
    assert response["code"] == 0 and response["data"]["leverage"] == 10 and response["data"]["symbol"] == "BTC-USDT"
    [record] = sim.requests.query(exchange=VENUE, path="/openApi/swap/v2/trade/leverage")
    assert record.method == "POST" and {k: record.params[k] for k in ("leverage", "side", "symbol")} == {
        "leverage": "10", "side": "BOTH", "symbol": "BTC-USDT"}
    leverage = await bingx.fetch_leverage(S)
    assert (leverage["longLeverage"], leverage["shortLeverage"]) == (10, 10)


@pytest.mark.parametrize(
    ("leverage", "symbol", "side", "error", "match"),
    [
        (5, S, "LONG", ccxt.BadRequest, "In the One-way mode"),  # 109400
        (51, SOL, "BOTH", ccxt.BadRequest, "109400"),  # SOL max is 50
        (0, S, "BOTH", ccxt.BadRequest, "109400"),
    ],
)
async def test_set_leverage_rejections(
    bingx: Any, leverage: int, symbol: str, side: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        await bingx.set_leverage(leverage, symbol, {"side": side})


async def test_set_leverage_needs_a_side_in_ccxt(bingx: Any) -> None:
    with pytest.raises(ccxt.ArgumentsRequired):
        await bingx.set_leverage(5, S)


async def test_leverage_change_refused_with_open_position(sim: SimulatorServer, bingx: Any) -> None:
    await bingx.create_order(S, "market", "buy", 0.01)
    with pytest.raises(ccxt.BadRequest, match="cannot be adjusted while there are open positions"):
        await bingx.set_leverage(10, S, {"side": "BOTH"})
    await bingx.set_leverage(20, S, {"side": "BOTH"})  # unchanged value: accepted
    await bingx.set_leverage(10, ETH, {"side": "BOTH"})  # other symbols are free


async def test_market_leverage_tiers(sim: SimulatorServer, bingx: Any) -> None:
    tiers = await bingx.fetch_market_leverage_tiers(S)
    expected = sim.engine.venue(VENUE).instrument(S).tiers
    assert [(t["tier"], t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"]) for t in tiers] == [
        (index + 1, float(t.notional_floor), float(t.notional_cap), float(t.maint_margin_rate))
        for index, t in enumerate(expected)
    ]
    assert tiers[0]["info"]["tier"] == "Tier 1" and tiers[1]["info"]["maintAmount"] == "300.000000"
    with pytest.raises(ccxt.NotSupported):
        await bingx.fetch_leverage_tiers([S])


async def test_margin_and_position_mode(sim: SimulatorServer, bingx: Any) -> None:
    await bingx.set_margin_mode("isolated", S)
    await bingx.set_margin_mode("isolated", S)  # a no-op switch succeeds
    assert account(sim).margin_mode(S).value == "ISOLATED"
    assert (await bingx.fetch_position_mode())["hedged"] is False
    await bingx.set_position_mode(True)
    assert (await bingx.fetch_position_mode())["hedged"] is True


# ----------------------------------------------------------------------------- orders and positions
async def test_order_lifecycle(sim: SimulatorServer, bingx: Any) -> None:
    opened = await bingx.create_order(S, "market", "buy", 0.01234, params={"clientOrderId": "open-1"})
    [record] = sim.requests.query(exchange=VENUE, path=ORDER)
    assert record.params["clientOrderID"] == "open-1" and record.params["quantity"] == "0.0123"
    assert record.params["positionSide"] == "BOTH"
    assert opened["clientOrderId"] == "open-1" and opened["side"] == "buy" and opened["status"] is None

    by_id = await bingx.fetch_order(opened["id"], S)
    assert (by_id["status"], by_id["filled"], by_id["average"], by_id["clientOrderId"]) == ("closed", 0.0123, 60000,
                                                                                            "open-1")
    raw = await bingx.swapV2PrivateGetTradeOrder({"symbol": "BTC-USDT", "clientOrderId": "open-1"})
    assert str(raw["data"]["order"]["orderId"]) == opened["id"]

    [position] = await bingx.fetch_positions([S])
    assert (position["side"], position["contracts"], position["entryPrice"], position["leverage"]) == (
        "long", 0.0123, 60000, 20)
    assert position["marginMode"] == "cross" and position["initialMargin"] == 36.9

    sim.engine.set_mark_price(VENUE, S, "61000")
    closed = await bingx.create_order(S, "market", "sell", 0.0123, params={"reduceOnly": True, "clientOrderId": "c-1"})
    assert sim.requests.query(exchange=VENUE, path=ORDER)[-1].params["reduceOnly"] == "true"
    assert (await bingx.fetch_order(closed["id"], S))["reduceOnly"] is True
    assert await bingx.fetch_positions([S]) == []
    assert account(sim).realized_pnl == Decimal("12.3")

    fees = (Decimal("738") + Decimal("750.3")) * Decimal("0.0005")
    balance = await bingx.fetch_balance()
    expected = (Decimal("10000") + Decimal("12.3") - fees).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert Decimal(str(balance["USDT"]["total"])) == expected  # BingX reports 4 decimals
    trades = await bingx.fetch_my_trades(S)
    assert [(trade["order"], trade["amount"]) for trade in trades] == [(opened["id"], 0.0123), (closed["id"], 0.0123)]


async def test_fetch_order_by_client_id_through_unified_api_sends_order_id_none(bingx: Any) -> None:
    await bingx.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "cid-2"})
    with pytest.raises(ccxt.BadRequest, match="orderId: invalid"):  # ccxt sends the literal orderId=None
        await bingx.fetch_order(None, S, {"clientOrderId": "cid-2"})


@pytest.mark.parametrize(
    ("amount", "params", "error", "match"),
    [
        (4.0, {}, ccxt.InsufficientFunds, "101204"),  # 240 000 / 20 = 12 000 margin > 10 000
        (0.0001, {"positionSide": "LONG"}, ccxt.BadRequest, "In the One-way mode"),
        (0.01, {"reduceOnly": True}, ccxt.InvalidOrder, "No position to close"),
    ],
)
async def test_order_rejections(
    sim: SimulatorServer, bingx: Any, amount: float, params: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        await bingx.create_order(S, "market", "buy", amount, params=params)
    assert account(sim).orders == []


async def test_reduce_only_may_not_flip(bingx: Any) -> None:
    await bingx.create_order(S, "market", "buy", 0.01)
    with pytest.raises(ccxt.InvalidOrder, match="101205"):
        await bingx.create_order(S, "market", "sell", 0.02, params={"reduceOnly": True})


async def test_duplicate_client_order_id(bingx: Any) -> None:
    await bingx.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="clientOrderID unique check failed"):
        await bingx.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "dup"})


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"symbol": "XRP-USDT", "quantity": "1"}, ccxt.BadSymbol, "109425"),
        ({"symbol": "BTC-USDT", "quantity": "0.00015"}, ccxt.BadRequest, "109400"),  # not a multiple of the step
        ({"symbol": "BTC-USDT", "quantity": "101"}, ccxt.InvalidOrder, "The maximum order amount is 100 BTC"),
        ({"symbol": "SOL-USDT", "quantity": "0.1"}, ccxt.InvalidOrder, "110425"),  # 15 USDT ≥ 2: passes below
        ({"symbol": "BTC-USDT"}, ccxt.BadRequest, "quantity: This field is required"),
        ({"symbol": "BTC-USDT", "quantity": "1", "type": "LIMIT_MAKER"}, ccxt.BadRequest, "type: invalid"),
    ],
)
async def test_raw_order_rejections(
    sim: SimulatorServer, bingx: Any, params: dict[str, Any], error: type[Exception], match: str
) -> None:
    if params["symbol"] == "SOL-USDT":
        sim.engine.update_instrument(VENUE, SOL, min_notional=Decimal(20))
    order = {"side": "BUY", "type": "MARKET", "positionSide": "BOTH", **params}
    with pytest.raises(error, match=match):
        await bingx.swapV2PrivatePostTradeOrder(order)


async def test_fetch_order_unknown(bingx: Any) -> None:
    with pytest.raises(ccxt.OrderNotFound, match="80016"):
        await bingx.fetch_order("1736012449498999999", S)


async def test_hedge_mode_account(sim: SimulatorServer, bingx: Any) -> None:
    await bingx.set_position_mode(True)
    with pytest.raises(ccxt.BadRequest, match="In the Hedge mode"):
        await bingx.create_order(S, "market", "buy", 0.01)  # positionSide BOTH
    with pytest.raises(ccxt.BadRequest, match="In the Hedge mode"):
        await bingx.set_leverage(10, S, {"side": "BOTH"})
    await bingx.set_leverage(10, S, {"side": "LONG"})
    await bingx.set_leverage(5, S, {"side": "SHORT"})
    leverage = await bingx.fetch_leverage(S)
    assert (leverage["longLeverage"], leverage["shortLeverage"]) == (10, 5)

    await bingx.create_order(S, "market", "buy", 0.01, params={"hedged": True})
    await bingx.create_order(S, "market", "sell", 0.02, params={"hedged": True})
    positions = await bingx.fetch_positions([S])
    assert sorted((p["side"], p["contracts"], p["leverage"]) for p in positions) == [("long", 0.01, 10),
                                                                                      ("short", 0.02, 5)]
    with pytest.raises(ccxt.BadRequest, match="position mode cannot be switched"):
        await bingx.set_position_mode(False)
    await bingx.create_order(S, "market", "sell", 0.01, params={"hedged": True, "reduceOnly": True})
    assert sim.requests.query(exchange=VENUE, path=ORDER)[-1].params["positionSide"] == "LONG"
    await bingx.create_order(S, "market", "buy", 0.02, params={"hedged": True, "reduceOnly": True})
    assert sim.requests.query(exchange=VENUE, path=ORDER)[-1].params["positionSide"] == "SHORT"
    assert await bingx.fetch_positions([S]) == []


# ----------------------------------------------------------------------------- funding history
async def test_funding_history_after_settlement(sim: SimulatorServer, bingx: Any) -> None:
    await bingx.create_order(S, "market", "buy", 0.1)
    await bingx.create_order(ETH, "market", "sell", 1.0)
    engine = sim.engine
    funding_time = engine.set_funding(VENUE, S, next_funding_in_seconds=1).next_funding_time
    engine.set_funding(VENUE, ETH, next_funding_time=funding_time)
    before = account(sim).balance
    await engine.wait_for_settlement(VENUE, S, funding_time, timeout=5)
    await engine.wait_for_settlement(VENUE, ETH, funding_time, timeout=5)

    btc = await bingx.fetch_funding_history(S)
    eth = await bingx.fetch_funding_history(ETH)
    assert [row["amount"] for row in btc] == [-0.9]  # long pays 0.1 × 60 000 × 0.00015
    assert [row["amount"] for row in eth] == [0.3]  # short receives 1 × 3000 × 0.0001
    assert btc[0]["timestamp"] == funding_time and btc[0]["code"] == "USDT" and btc[0]["type"] == "funding"
    assert account(sim).balance == before - Decimal("0.9") + Decimal("0.3")
    [record] = sim.requests.query(exchange=VENUE, path="/openApi/swap/v2/user/income")[:1]
    assert record.params["incomeType"] == "FUNDING_FEE"
    history = await bingx.fetch_funding_rate_history(S)
    assert [(r["timestamp"], r["fundingRate"]) for r in history] == [(funding_time, 0.00015)]


# ----------------------------------------------------------------------------- authentication
async def test_bad_signature(make_bingx: Any) -> None:
    exchange = make_bingx(secret="not-the-secret")
    await exchange.load_markets()  # public: no signature needed
    with pytest.raises(ccxt.AuthenticationError, match="100001"):
        await exchange.fetch_balance()


async def test_wrong_key(make_bingx: Any) -> None:
    exchange = make_bingx(apiKey="unknown-key")
    with pytest.raises(ccxt.AuthenticationError, match="Incorrect apiKey"):
        await exchange.fetch_balance()


async def test_stale_timestamp(sim: SimulatorServer, bingx: Any) -> None:
    sim.engine.clock = lambda: wall_clock_ms() + 20_000  # server 20 s ahead: ccxt's timestamp is stale
    with pytest.raises(ccxt.BadSymbol, match="100421"):  # ccxt's (odd) mapping of the timestamp error
        await bingx.fetch_balance()


async def test_signature_is_checked_on_the_raw_query(sim: SimulatorServer, bingx: Any) -> None:
    # a client order id with characters ccxt percent-encodes: signed decoded, sent encoded
    await bingx.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "a:b.c"})
    assert account(sim).orders[0].client_order_id == "a:b.c"


SPEC_VECTORS = [  # signatures ccxt 4.5.90 computes for apiKey testkey, secret testsecret, timestamp 1700000000000
    ("POST", "/openApi/swap/v2/trade/leverage?leverage=5&side=BOTH&symbol=BTC-USDT&timestamp=1700000000000"
     "&signature=2b820acdceb2dd87503574d88534e068046503e83b614ed72ed4f5d0ed2957b3"),
    ("GET", "/openApi/swap/v2/user/positions?timestamp=1700000000000"
     "&signature=dd273985d88b32eaeeb19cafcc2dbaa9ac658e274cd4095d474395560c4b09b7"),
]


@pytest.mark.parametrize(("method", "path"), SPEC_VECTORS)
async def test_spec_signature_vectors(sim: SimulatorServer, method: str, path: str) -> None:
    sim.engine.add_account(VENUE, "testkey", "testsecret", 1000)
    sim.engine.clock = lambda: 1_700_000_000_500
    headers = {"X-BX-APIKEY": "testkey", "X-SOURCE-KEY": "CCXT"}
    async with aiohttp.ClientSession() as session:
        url = yarl.URL(sim.base_url(VENUE) + path, encoded=True)
        async with session.request(method, url, headers=headers) as response:
            assert (await response.json())["code"] == 0
        tampered = yarl.URL(sim.base_url(VENUE) + path.replace("timestamp=1700000000000", "timestamp=1700000000001"),
                            encoded=True)
        async with session.request(method, tampered, headers=headers) as response:
            assert (await response.json())["code"] == 100001
        unsigned = yarl.URL(sim.base_url(VENUE) + path.split("&signature=")[0], encoded=True)
        async with session.request(method, unsigned, headers=headers) as response:
            assert (await response.json())["code"] == 100412  # Null signature


# ----------------------------------------------------------------------------- faults
@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [
        ("RATE_LIMITED", ccxt.OperationFailed, "100410"),
        ("INTERNAL_ERROR", ccxt.OperationFailed, "100500"),
        ("MAINTENANCE", ccxt.ExchangeError, "100503"),
        ("AUTH_INVALID_KEY", ccxt.AuthenticationError, "100413"),
        ("UNKNOWN_ENDPOINT", ccxt.BadRequest, "100400"),
        ("INSUFFICIENT_MARGIN", ccxt.InsufficientFunds, "101204"),
    ],
)
async def test_error_fault_uses_bingx_body(
    sim: SimulatorServer, bingx: Any, kind: str, error: type[Exception], code: str
) -> None:
    sim.faults.add(action="error", exchange=VENUE, method="POST", path=ORDER, error_kind=kind)
    with pytest.raises(error, match=code):
        await bingx.create_order(S, "market", "buy", 0.01)
    assert account(sim).orders == []


async def test_latency_fault(sim: SimulatorServer, bingx: Any) -> None:
    sim.faults.add(action="latency", exchange=VENUE, path="/openApi/swap/v2/quote/premiumIndex", latency_ms=300)
    started = time.perf_counter()
    assert (await bingx.fetch_funding_rate(S))["fundingRate"] == 0.00015
    assert time.perf_counter() - started >= 0.3


async def test_http_5xx_is_exchange_not_available(sim: SimulatorServer, bingx: Any) -> None:
    sim.faults.add(action="http_5xx", exchange=VENUE, path="/openApi/swap/v3/user/balance", status=502)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await bingx.fetch_balance()


async def test_dropped_connection_is_network_error(sim: SimulatorServer, bingx: Any) -> None:
    sim.faults.add(action="drop", exchange=VENUE, method="POST", path=ORDER)
    with pytest.raises(ccxt.NetworkError):
        await bingx.create_order(S, "market", "buy", 0.01)
    assert account(sim).orders == []


async def test_lost_response_then_found_by_client_order_id(sim: SimulatorServer, bingx: Any) -> None:
    sim.faults.add(action="lost_response", exchange=VENUE, method="POST", path=ORDER, lost_delay_ms=5000)
    bingx.timeout = 300
    with pytest.raises(ccxt.RequestTimeout):
        await bingx.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "lost-1"})
    bingx.timeout = 10_000
    raw = await bingx.swapV2PrivateGetTradeOrder({"symbol": "BTC-USDT", "clientOrderId": "lost-1"})
    order = bingx.parse_order(raw["data"]["order"], bingx.market(S))
    assert (order["status"], order["filled"], raw["data"]["order"]["status"]) == ("closed", 0.01, "FILLED")


async def test_real_unknown_endpoint(bingx: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="this api is not exist"):
        await bingx.swapV1PrivateGetTradeFullOrder({"symbol": "BTC-USDT"})


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_kind_has_a_bingx_code(kind: ErrorKind) -> None:
    assert kind in ERRORS
    status, body = DIALECT.error_body(kind, "engine text", {})
    assert body["code"] != 0 and body["msg"] and status in (200, 503)


# ----------------------------------------------------------------------------- body shapes ccxt reads
BODY_KEYS = {
    "contract": {"contractId", "symbol", "size", "quantityPrecision", "pricePrecision", "feeRate", "makerFeeRate",
                 "takerFeeRate", "tradeMinLimit", "tradeMinQuantity", "tradeMinUSDT", "maxLongLeverage",
                 "maxShortLeverage", "currency", "asset", "status", "apiStateOpen", "apiStateClose", "ensureTrigger",
                 "triggerFeeRate", "brokerState", "launchTime", "maintainTime", "offTime", "displayName"},
    "premiumIndex": {"symbol", "markPrice", "indexPrice", "lastFundingRate", "nextFundingTime",
                     "fundingIntervalHours"},
    "order_ack": {"symbol", "orderId", "side", "positionSide", "type", "clientOrderID", "workingType"},
    "order": {"symbol", "orderId", "side", "positionSide", "type", "origQty", "price", "executedQty", "avgPrice",
              "cumQuote", "stopPrice", "profit", "commission", "status", "time", "updateTime", "clientOrderId",
              "leverage", "takeProfit", "stopLoss", "advanceAttr", "positionID", "takeProfitEntrustPrice",
              "stopLossEntrustPrice", "orderType", "workingType", "onlyOnePosition", "reduceOnly", "postOnly",
              "stopGuaranteed", "triggerOrderId", "trailingStopRate", "trailingStopDistance"},
    "position": {"positionId", "symbol", "currency", "positionAmt", "availableAmt", "positionSide", "isolated",
                 "avgPrice", "initialMargin", "margin", "leverage", "unrealizedProfit", "realisedProfit",
                 "liquidationPrice", "pnlRatio", "maxMarginReduction", "riskRate", "markPrice", "positionValue",
                 "onlyOnePosition", "createTime", "updateTime"},
    "balance": {"userId", "asset", "balance", "equity", "unrealizedProfit", "realisedProfit", "availableMargin",
                "usedMargin", "freezedMargin", "shortUid"},
    "income": {"symbol", "incomeType", "income", "asset", "info", "time", "tranId", "tradeId"},
    "fill": {"filledTm", "volume", "price", "amount", "commission", "currency", "orderId", "liquidatedPrice",
             "liquidatedMarginRatio", "filledTime", "clientOrderId", "symbol"},
}


async def test_bodies_have_the_keys_and_types_ccxt_reads(sim: SimulatorServer, bingx: Any) -> None:
    contract = (await bingx.swapV2PublicGetQuoteContracts())["data"][0]
    assert set(contract) == BODY_KEYS["contract"]
    assert (contract["apiStateOpen"], contract["quantityPrecision"], contract["currency"]) == ("true", "4", "USDT")
    index = (await bingx.fetch_funding_rate(S))["info"]
    assert set(index) == BODY_KEYS["premiumIndex"] and isinstance(index["nextFundingTime"], int)
    ack = await bingx.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "k-1"})
    assert set(ack["info"]) == BODY_KEYS["order_ack"] and isinstance(ack["info"]["orderId"], int)
    detail = (await bingx.fetch_order(ack["id"], S))["info"]
    assert set(detail) == BODY_KEYS["order"]
    assert (detail["origQty"], detail["leverage"], detail["commission"]) == ("0.0100", "20X", "-0.300000")
    [position] = await bingx.fetch_positions([S])
    assert set(position["info"]) == BODY_KEYS["position"] and position["info"]["isolated"] is False
    balance = await bingx.fetch_balance()
    assert set(balance["info"]["data"][0]) == BODY_KEYS["balance"]
    mode = await bingx.swapV1PrivateGetPositionSideDual()
    assert mode["data"] == {"dualSidePosition": "false"}
    [fill] = (await bingx.swapV2PrivateGetTradeAllFillOrders({"symbol": "BTC-USDT"}))["data"]["fill_orders"]
    assert set(fill) == BODY_KEYS["fill"] and fill["filledTm"].endswith("Z")
    sim.engine.set_funding(VENUE, S, next_funding_in_seconds=0.05)
    await sim.engine.wait_for_settlement(VENUE, S, timeout=5)
    [income] = await bingx.fetch_funding_history(S)
    assert set(income["info"]) == BODY_KEYS["income"] and isinstance(income["info"]["tranId"], str)
