"""Unmodified ccxt bybit (v5, unified account) against the simulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from arbitrage.simulator.dialects.bybit.dialect import DIALECT, ERRORS
from arbitrage.simulator.errors import ErrorKind
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
SOL = "SOL/USDT:USDT"
VENUE = "bybit"
ORDER = "/v5/order/create"
# the daemon's configuration: 2 load_markets requests, no UTA detection, no currencies
DAEMON_OPTIONS = {"fetchMarkets": {"types": ["linear"]}, "enableUnifiedAccount": True, "enableUnifiedMargin": False}
ACK = {"acknowledged": True}


@pytest.fixture
def make_bybit(ccxt_client: Callable[..., Any]) -> Callable[..., Any]:
    """ccxt bybit clients: the daemon config by default, ccxt defaults with ``daemon=False``."""

    def make(daemon: bool = True, **config: Any) -> Any:
        options = {**(DAEMON_OPTIONS if daemon else {}), **config.pop("options", {})}
        extra: dict[str, Any] = {"has": {"fetchCurrencies": False}} if daemon else {}
        return ccxt_client(VENUE, options=options, **extra, **config)

    return make


@pytest.fixture
async def bybit(make_bybit: Callable[..., Any]) -> Any:
    exchange = make_bybit()
    await exchange.load_markets()
    return exchange


def account(sim: SimulatorServer) -> Any:
    return sim.engine.account(VENUE)


def paths(sim: SimulatorServer, pattern: str = "/v5/*") -> list[str]:
    return [record.path for record in sim.requests.query(exchange=VENUE, path=pattern)]


async def lookup_by_link_id(bybit: Any, link_id: str) -> list[Any]:
    """The product's lookup after a lost response: GET /v5/order/realtime with orderLinkId."""
    request = {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": link_id}
    response = await bybit.privateGetV5OrderRealtime(request)
    return [bybit.parse_order(row, bybit.market(S)) for row in response["result"]["list"]]


# ----------------------------------------------------------------------------- markets and funding
async def test_load_markets_with_daemon_options(sim: SimulatorServer, bybit: Any) -> None:
    market = bybit.market(S)
    assert market["id"] == "BTCUSDT" and market["linear"] and market["swap"] and market["active"]
    assert market["precision"] == {"amount": 0.001, "price": 0.1}
    assert market["limits"]["amount"] == {"min": 0.001, "max": 100.0}
    assert market["limits"]["cost"]["min"] == 5 and market["limits"]["leverage"]["max"] == 100
    assert set(bybit.markets) == {S, ETH, SOL}
    assert paths(sim) == ["/v5/market/instruments-info"] * 2


async def test_load_markets_with_ccxt_defaults(sim: SimulatorServer, make_bybit: Callable[..., Any]) -> None:
    exchange = make_bybit(daemon=False)
    await exchange.load_markets()
    assert set(exchange.markets) == {S, ETH, SOL} and "USDT" in exchange.currencies
    records = sim.requests.query(exchange=VENUE)
    # spot, option × 6 base coins, linear and inverse × (Trading, PreLaunch), + the signed coin list
    assert len(records) == 12 and all(record.outcome == "ok" for record in records)
    categories = sorted({record.params["category"] for record in records if "category" in record.params})
    assert categories == ["inverse", "linear", "option", "spot"]
    assert "/v5/asset/coin/query-info" in [record.path for record in records]


async def test_instruments_info_cursor_paging(bybit: Any) -> None:
    first = await bybit.publicGetV5MarketInstrumentsInfo({"category": "linear", "limit": 2})
    cursor = first["result"]["nextPageCursor"]
    second = await bybit.publicGetV5MarketInstrumentsInfo({"category": "linear", "limit": 2, "cursor": cursor})
    symbols = [row["symbol"] for page in (first, second) for row in page["result"]["list"]]
    assert symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT"] and second["result"]["nextPageCursor"] == ""
    assert first["result"]["category"] == "linear"


async def test_fetch_funding_rate(sim: SimulatorServer, bybit: Any) -> None:
    instrument = sim.engine.venue(VENUE).instrument(S)
    rate = await bybit.fetch_funding_rate(S)
    assert rate["fundingRate"] == 0.00012 and rate["markPrice"] == 60000
    assert rate["fundingTimestamp"] == instrument.next_funding_time and rate["interval"] == "8h"
    assert rate["info"]["fundingIntervalHour"] == "8"
    rates = await bybit.fetch_funding_rates([S, ETH])
    assert rates[ETH]["fundingRate"] == 0.0001


# ----------------------------------------------------------------------------- leverage
async def test_set_and_fetch_leverage(sim: SimulatorServer, bybit: Any) -> None:
    response = await bybit.set_leverage(5, S)
    assert response["retCode"] == 0 and response["result"] == {}
    [record] = sim.requests.query(exchange=VENUE, path="/v5/position/set-leverage")
    assert record.params == {"symbol": "BTCUSDT", "buyLeverage": "5", "sellLeverage": "5", "category": "linear"}
    leverage = await bybit.fetch_leverage(S)
    assert (leverage["longLeverage"], leverage["shortLeverage"]) == (5, 5)


async def test_set_leverage_rejections(sim: SimulatorServer, bybit: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="110013"):
        await bybit.set_leverage(60, SOL)  # SOL max is 50
    with pytest.raises(ccxt.BadRequest, match="buy leverage must be equal to sell leverage"):
        await bybit.set_leverage(5, S, {"sellLeverage": "6"})
    with pytest.raises(ccxt.BadRequest, match="110043"):
        await bybit.set_leverage(10, S)  # the default is 10: not modified
    sim.engine.set_balance(VENUE, "1000000")
    await bybit.set_leverage(50, S)
    await bybit.create_order(S, "market", "buy", 40)  # 2 400 000 notional → tier 2 (max 50)
    with pytest.raises(ccxt.BadRequest, match=r"110013.*cannot set leverage \[10000\] gt maxLeverage \[5000\]"):
        await bybit.set_leverage(100, S)
    assert (await bybit.fetch_leverage(S))["longLeverage"] == 50


@pytest.fixture
def scenario_paged_risk_limit(scenario: dict[str, Any]) -> dict[str, Any]:
    scenario["venues"][VENUE]["settings"]["options"] = {"risk_limit_page_symbols": 1}
    return scenario


@pytest.mark.usefixtures("scenario_paged_risk_limit")
async def test_leverage_tiers_follow_the_cursor(sim: SimulatorServer, bybit: Any) -> None:
    tiers = await bybit.fetch_leverage_tiers([S, SOL])
    expected = sim.engine.venue(VENUE).instrument(SOL).tiers
    assert [(t["minNotional"], t["maxNotional"], t["maxLeverage"]) for t in tiers[SOL]] == [
        (float(t.notional_floor), float(t.notional_cap), t.max_leverage) for t in expected
    ]
    assert set(tiers) == {S, SOL}
    records = sim.requests.query(exchange=VENUE, path="/v5/market/risk-limit")
    assert [record.params.get("cursor") for record in records] == [None, "1", "2"]
    market_tiers = await bybit.fetch_market_leverage_tiers(S)
    assert [t["maxLeverage"] for t in market_tiers] == [100, 50, 25, 10, 5]
    assert market_tiers[1]["minNotional"] == 2_000_000 and market_tiers[0]["maintenanceMarginRate"] == 0.005


# ----------------------------------------------------------------------------- orders
async def test_order_lifecycle(sim: SimulatorServer, bybit: Any) -> None:
    opened = await bybit.create_order(S, "market", "buy", 0.0123, params={"clientOrderId": "open-1"})
    assert opened["clientOrderId"] == "open-1" and opened["status"] is None  # create returns ids only
    by_id = await bybit.fetch_order(opened["id"], S, ACK)
    assert (by_id["status"], by_id["filled"], by_id["average"], by_id["side"]) == ("closed", 0.012, 60000, "buy")
    [by_link] = await lookup_by_link_id(bybit, "open-1")
    assert by_link["id"] == opened["id"] and by_link["status"] == "closed"

    [position] = await bybit.fetch_positions([S])
    assert (position["side"], position["contracts"], position["entryPrice"], position["leverage"]) == (
        "long", 0.012, 60000, 10,
    )  # fmt: skip
    sim.engine.set_mark_price(VENUE, S, "61000")
    closed = await bybit.create_order(S, "market", "sell", 0.012, params={"reduceOnly": True, "clientOrderId": "c-1"})
    assert (await bybit.fetch_order(closed["id"], S, ACK))["reduceOnly"] is True
    assert await bybit.fetch_positions() == []  # by settleCoin: open positions only
    [empty] = await bybit.fetch_positions([S])  # by symbol: Bybit's size-0 row
    assert empty["contracts"] == 0 and empty["side"] is None
    assert account(sim).realized_pnl == Decimal("12")

    fees = (Decimal("720") + Decimal("732")) * Decimal("0.00055")
    balance = await bybit.fetch_balance()
    assert Decimal(str(balance["USDT"]["total"])) == Decimal("10012") - fees
    assert balance["USDT"]["free"] == balance["USDT"]["total"]  # flat: nothing locked
    trades = await bybit.fetch_my_trades(S)
    assert sorted((t["side"], t["amount"]) for t in trades) == [("buy", 0.012), ("sell", 0.012)]


async def test_unknown_order_is_an_empty_list(bybit: Any) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        await bybit.fetch_order("00000000-0000-4000-8000-000000000000", S, ACK)
    assert await lookup_by_link_id(bybit, "never-sent") == []


@pytest.mark.parametrize(
    ("amount", "params", "error", "code"),
    [
        (20.0, {}, ccxt.InsufficientFunds, "110007"),  # 1 200 000 / 10 = 120 000 margin > 10 000
        (0.001, {}, ccxt.InvalidOrder, "110094"),  # 60 USDT < 100 min notional (raised below)
        (0.01, {"reduceOnly": True}, ccxt.InvalidOrder, "110017"),  # nothing to reduce
    ],
)
async def test_order_rejections(
    sim: SimulatorServer, bybit: Any, amount: float, params: dict[str, Any], error: type[Exception], code: str
) -> None:
    sim.engine.update_instrument(VENUE, S, min_notional="100")
    with pytest.raises(error, match=code):
        await bybit.create_order(S, "market", "buy", amount, params=params)
    assert account(sim).orders == []


async def test_reduce_only_may_not_increase_or_flip(bybit: Any) -> None:
    await bybit.create_order(S, "market", "buy", 0.01)
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        await bybit.create_order(S, "market", "buy", 0.01, params={"reduceOnly": True})
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        await bybit.create_order(S, "market", "sell", 0.02, params={"reduceOnly": True})


async def test_duplicate_order_link_id(bybit: Any) -> None:
    await bybit.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "dup"})
    with pytest.raises(ccxt.InvalidOrder, match="110072"):
        await bybit.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "dup"})


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"symbol": "XRPUSDT", "qty": "1"}, ccxt.BadSymbol, "Not supported symbols"),
        ({"symbol": "BTCUSDT", "qty": "0.0105"}, ccxt.BadRequest, "10001"),  # not a multiple of the step
        ({"symbol": "BTCUSDT", "qty": "101"}, ccxt.BadRequest, "maximum limit"),
        ({"symbol": "BTCUSDT", "qty": 0.01}, ccxt.BadRequest, "cannot unmarshal number"),  # qty must be a string
        ({"symbol": "BTCUSDT", "qty": "0.01", "positionIdx": 1}, ccxt.BadRequest, "position idx not match"),
        ({"symbol": "BTCUSDT", "qty": "0.01", "category": "spot"}, ccxt.BadRequest, "Illegal category"),
    ],
)
async def test_raw_order_rejections(bybit: Any, fields: dict[str, Any], error: type[Exception], message: str) -> None:
    # the implicit API skips ccxt's client-side precision/symbol handling, so the simulator's rules are reached
    body = {"category": "linear", "side": "Buy", "orderType": "Market", **fields}
    with pytest.raises(error, match=message):
        await bybit.privatePostV5OrderCreate(body)


@pytest.mark.parametrize(
    ("call", "request_params", "message"),
    [
        ("privatePostV5PositionSetLeverage", {"symbol": "BTCUSDT", "buyLeverage": 5, "sellLeverage": 5},
         "cannot unmarshal number"),  # leverages are strings on the wire
        ("privatePostV5PositionSetLeverage", {"symbol": "BTCUSDT", "buyLeverage": "5"}, "sellLeverage is required"),
        ("privateGetV5OrderRealtime", {"orderLinkId": "x"}, "symbol or settleCoin"),  # linear needs a scope
        ("privateGetV5PositionList", {}, "Missing symbol or settleCoin"),
        ("privateGetV5AccountWalletBalance", {"accountType": "CONTRACT"}, "only support UNIFIED"),
    ],
)  # fmt: skip
async def test_raw_request_rejections(bybit: Any, call: str, request_params: dict[str, Any], message: str) -> None:
    category = {} if "Wallet" in call else {"category": "linear"}
    with pytest.raises(ccxt.BadRequest, match=message):
        await getattr(bybit, call)({**request_params, **category})


async def test_funding_history_after_settlement(sim: SimulatorServer, bybit: Any) -> None:
    await bybit.create_order(S, "market", "buy", 0.1)
    await bybit.create_order(ETH, "market", "sell", 1.0)
    engine = sim.engine
    funding_time = engine.set_funding(VENUE, S, next_funding_in_seconds=0.3).next_funding_time
    engine.set_funding(VENUE, ETH, next_funding_time=funding_time)
    before = account(sim).balance
    await engine.wait_for_settlement(VENUE, S, funding_time, timeout=5)
    await engine.wait_for_settlement(VENUE, ETH, funding_time, timeout=5)

    btc = await bybit.fetch_funding_history(S)
    eth = await bybit.fetch_funding_history(ETH)
    # Bybit's execFee is a fee: the long PAYS 0.1 × 60 000 × 0.00012 = +0.72, the short RECEIVES 1 × 3000 × 0.0001
    assert [(row["amount"], row["rate"], row["code"]) for row in btc] == [(0.72, 0.00012, "USDT")]
    assert [row["amount"] for row in eth] == [-0.3]
    assert btc[0]["timestamp"] == funding_time and btc[0]["info"]["execType"] == "Funding"
    assert account(sim).balance == before - Decimal("0.72") + Decimal("0.3")
    history = await bybit.fetch_funding_rate_history(S, since=funding_time - 1000)
    assert [(row["timestamp"], row["fundingRate"]) for row in history] == [(funding_time, 0.00012)]
    assert [t["info"]["execType"] for t in await bybit.fetch_my_trades(S)] == ["Trade"]


# ----------------------------------------------------------------------------- modes
async def test_hedge_mode_account(sim: SimulatorServer, bybit: Any) -> None:
    with pytest.raises(ccxt.NoChange, match="110025"):
        await bybit.set_position_mode(False)
    await bybit.set_position_mode(True)
    with pytest.raises(ccxt.BadRequest, match="position idx not match position mode"):
        await bybit.create_order(S, "market", "buy", 0.01)  # positionIdx 0 in hedge mode
    await bybit.set_leverage(5, S, {"sellLeverage": "8"})  # sides may differ in hedge mode
    await bybit.create_order(S, "market", "buy", 0.01, params={"hedged": True})
    await bybit.create_order(S, "market", "sell", 0.02, params={"hedged": True})
    rows = await bybit.fetch_positions([S])
    assert sorted((p["side"], p["contracts"], p["leverage"]) for p in rows) == [("long", 0.01, 5), ("short", 0.02, 8)]
    assert sorted(p["info"]["positionIdx"] for p in rows) == [1, 2]
    with pytest.raises(ccxt.BadRequest, match="110024"):
        await bybit.set_position_mode(False)
    await bybit.create_order(S, "market", "sell", 0.01, params={"reduceOnly": True, "hedged": True})
    await bybit.create_order(S, "market", "buy", 0.02, params={"reduceOnly": True, "hedged": True})
    bodies = [record.params.get("positionIdx") for record in sim.requests.query(exchange=VENUE, path=ORDER)]
    assert bodies == [None, 1, 2, 1, 2]
    assert await bybit.fetch_positions() == []
    await bybit.set_position_mode(False)


async def test_margin_mode_is_account_wide(sim: SimulatorServer, bybit: Any) -> None:
    response = await bybit.set_margin_mode("isolated", S)
    assert response["result"] == {"reasons": []}
    with pytest.raises(ccxt.MarginModeAlreadySet, match="110026"):
        await bybit.set_margin_mode("isolated", ETH)
    await bybit.create_order(S, "market", "buy", 0.01)
    with pytest.raises(ccxt.ExchangeError, match="3400045"):
        await bybit.set_margin_mode("cross", S)
    [position] = await bybit.fetch_positions([S])
    assert position["info"]["tradeMode"] == 1


async def test_unified_account_detection_with_defaults(sim: SimulatorServer, make_bybit: Callable[..., Any]) -> None:
    exchange = make_bybit(daemon=False, has={"fetchCurrencies": False})
    await exchange.load_markets()
    balance = await exchange.fetch_balance()
    assert balance["USDT"]["total"] == 10000
    assert sorted(paths(sim, "/v5/[ua]*")) == ["/v5/account/info", "/v5/account/wallet-balance", "/v5/user/query-api"]
    [wallet] = sim.requests.query(exchange=VENUE, path="/v5/account/wallet-balance")
    assert wallet.params["accountType"] == "UNIFIED"


# ----------------------------------------------------------------------------- authentication
async def test_bad_signature(make_bybit: Callable[..., Any]) -> None:
    exchange = make_bybit(secret="not-the-secret")
    with pytest.raises(ccxt.AuthenticationError, match="10004"):
        await exchange.fetch_balance()


async def test_wrong_key(make_bybit: Callable[..., Any]) -> None:
    exchange = make_bybit(apiKey="unknown-key")
    with pytest.raises(ccxt.AuthenticationError, match="10003"):
        await exchange.fetch_balance()


async def test_stale_timestamp(make_bybit: Callable[..., Any]) -> None:
    exchange = make_bybit(options={"timeDifference": 20_000})  # nonce 20 s in the past > recv window 5 s
    with pytest.raises(ccxt.InvalidNonce, match="10002"):
        await exchange.fetch_balance()


async def test_unknown_endpoint(bybit: Any) -> None:
    with pytest.raises(ccxt.BadRequest, match="10017"):
        await bybit.privateGetV5AccountFeeRate({"category": "linear"})


# ----------------------------------------------------------------------------- faults
@pytest.mark.parametrize("kind", [kind for kind in ErrorKind if kind is not ErrorKind.IP_RATE_LIMITED])
def test_every_error_kind_renders_a_v5_envelope(kind: ErrorKind) -> None:
    status, body = DIALECT.error_body(kind, "engine message", {"param": "symbol", "leverage": 5, "max_leverage": 3})
    assert status == 200 and set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert body["retCode"] == ERRORS[kind][0] != 0 and "{" not in body["retMsg"]


@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [
        ("RATE_LIMITED", ccxt.RateLimitExceeded, "10006"),
        ("IP_RATE_LIMITED", ccxt.RateLimitExceeded, "access too frequent"),  # HTTP 403, plain text
        ("INTERNAL_ERROR", ccxt.ExchangeError, "10016"),
        ("AUTH_INVALID_KEY", ccxt.AuthenticationError, "10003"),
        ("INSUFFICIENT_MARGIN", ccxt.InsufficientFunds, "110007"),
        ("MAINTENANCE", ccxt.ExchangeError, "10016"),
    ],
)
async def test_error_fault_through_ccxt(
    sim: SimulatorServer, bybit: Any, kind: str, error: type[Exception], code: str
) -> None:
    sim.faults.add(action="error", exchange=VENUE, method="POST", path=ORDER, error_kind=kind)
    with pytest.raises(error, match=code):
        await bybit.create_order(S, "market", "buy", 0.01)
    assert account(sim).orders == []


async def test_latency_fault(sim: SimulatorServer, bybit: Any) -> None:
    sim.faults.add(action="latency", exchange=VENUE, path="/v5/market/tickers", latency_ms=200)
    await bybit.fetch_funding_rate(S)
    [record] = sim.requests.query(exchange=VENUE, path="/v5/market/tickers")
    assert record.duration_ms >= 200


async def test_http_5xx_non_json_is_exchange_not_available(sim: SimulatorServer, bybit: Any) -> None:
    sim.faults.add(action="http_5xx", exchange=VENUE, path="/v5/account/wallet-balance", status=502)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await bybit.fetch_balance()


async def test_dropped_connection_is_network_error(sim: SimulatorServer, bybit: Any) -> None:
    sim.faults.add(action="drop", exchange=VENUE, method="POST", path=ORDER)
    with pytest.raises(ccxt.NetworkError):
        await bybit.create_order(S, "market", "buy", 0.01)
    assert account(sim).orders == []


async def test_lost_response_then_found_by_order_link_id(sim: SimulatorServer, bybit: Any) -> None:
    sim.faults.add(action="lost_response", exchange=VENUE, method="POST", path=ORDER, lost_delay_ms=3000)
    bybit.timeout = 300  # ms
    with pytest.raises(ccxt.RequestTimeout):
        await bybit.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "lost-1"})
    bybit.timeout = 10_000
    [order] = await lookup_by_link_id(bybit, "lost-1")
    assert (order["status"], order["filled"], order["info"]["orderStatus"]) == ("closed", 0.01, "Filled")
    by_id = await bybit.fetch_order(order["id"], S, ACK)
    assert by_id["clientOrderId"] == "lost-1"


# ----------------------------------------------------------------------------- Appendix C shapes
APPENDIX_C_KEYS = {
    "order": {"orderId", "orderLinkId", "blockTradeId", "symbol", "price", "qty", "side", "isLeverage", "positionIdx",
              "orderStatus", "cancelType", "rejectReason", "avgPrice", "leavesQty", "leavesValue", "cumExecQty",
              "cumExecValue", "cumExecFee", "timeInForce", "orderType", "stopOrderType", "orderIv", "triggerPrice",
              "takeProfit", "stopLoss", "tpTriggerBy", "slTriggerBy", "triggerDirection", "triggerBy",
              "lastPriceOnCreated", "reduceOnly", "closeOnTrigger", "smpType", "smpGroup", "smpOrderId", "tpslMode",
              "tpLimitPrice", "slLimitPrice", "placeType", "createdTime", "updatedTime"},
    "position": {"positionIdx", "riskId", "riskLimitValue", "symbol", "side", "size", "avgPrice", "positionValue",
                 "tradeMode", "positionStatus", "autoAddMargin", "adlRankIndicator", "leverage", "positionBalance",
                 "markPrice", "liqPrice", "bustPrice", "positionMM", "positionIM", "tpslMode", "takeProfit",
                 "stopLoss", "trailingStop", "unrealisedPnl", "curRealisedPnl", "cumRealisedPnl", "seq",
                 "isReduceOnly", "mmrSysUpdatedTime", "leverageSysUpdatedTime", "sessionAvgPrice", "createdTime",
                 "updatedTime"},
    "ticker": {"symbol", "lastPrice", "indexPrice", "markPrice", "prevPrice24h", "price24hPcnt", "highPrice24h",
               "lowPrice24h", "prevPrice1h", "openInterest", "openInterestValue", "turnover24h", "volume24h",
               "fundingRate", "nextFundingTime", "predictedDeliveryPrice", "basisRate", "deliveryFeeRate",
               "deliveryTime", "ask1Size", "bid1Price", "ask1Price", "bid1Size", "basis", "preOpenPrice", "preQty",
               "curPreListingPhase"},
    "risk": {"id", "symbol", "riskLimitValue", "maintenanceMargin", "initialMargin", "isLowestRisk", "maxLeverage",
             "mmDeduction"},
    "execution": {"symbol", "orderType", "underlyingPrice", "orderLinkId", "orderId", "stopOrderType", "execTime",
                  "feeRate", "tradeIv", "blockTradeId", "markPrice", "execPrice", "markIv", "orderQty", "orderPrice",
                  "execValue", "closedSize", "execType", "seq", "side", "indexPrice", "leavesQty", "isMaker",
                  "execFee", "execId", "marketUnit", "execQty", "feeCurrency", "createType", "extraFees"},
    "wallet": {"totalEquity", "accountIMRate", "totalMarginBalance", "totalInitialMargin", "accountType",
               "totalAvailableBalance", "accountMMRate", "totalPerpUPL", "totalWalletBalance", "accountLTV",
               "totalMaintenanceMargin", "coin"},
}  # fmt: skip


async def test_bodies_have_appendix_c_keys(bybit: Any) -> None:
    order = await bybit.create_order(S, "market", "buy", 0.01, params={"clientOrderId": "shape-1"})
    assert set(order["info"]) == {"orderId", "orderLinkId"}
    fetched = await bybit.fetch_order(order["id"], S, ACK)
    assert set(fetched["info"]) == APPENDIX_C_KEYS["order"]
    assert isinstance(fetched["info"]["qty"], str) and fetched["info"]["reduceOnly"] is False
    [position] = await bybit.fetch_positions([S])
    assert set(position["info"]) == APPENDIX_C_KEYS["position"] and position["info"]["size"] == "0.010"
    assert set((await bybit.fetch_ticker(S))["info"]) == APPENDIX_C_KEYS["ticker"] | {"fundingIntervalHour"}
    tiers = await bybit.fetch_market_leverage_tiers(S)
    assert set(tiers[0]["info"]) == APPENDIX_C_KEYS["risk"]
    [trade] = await bybit.fetch_my_trades(S)
    assert set(trade["info"]) == APPENDIX_C_KEYS["execution"]
    balance = await bybit.fetch_balance()
    [wallet] = balance["info"]["result"]["list"]
    assert set(wallet) == APPENDIX_C_KEYS["wallet"] and wallet["coin"][0]["availableToWithdraw"] == ""
    assert set(balance["info"]) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
