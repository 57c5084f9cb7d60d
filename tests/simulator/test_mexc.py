"""Unmodified ccxt mexc (swap) against the simulator over loopback HTTP. MEXC amounts are CONTRACTS."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from multidict import CIMultiDict, CIMultiDictProxy

from arbitrage.simulator.dialects.common import RequestContext, SimRequest, hmac_sha256_hex
from arbitrage.simulator.dialects.mexc import DIALECT
from arbitrage.simulator.engine import Engine
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"  # contractSize 0.0001: 100 contracts = 0.01 BTC = 600 USDT at 60 000
ETH = "ETH/USDT:USDT"  # contractSize 0.01
VENUE = "mexc"
ORDER = "/api/v1/private/order/create"


def account(sim: SimulatorServer) -> Any:
    return sim.engine.account(VENUE)


@pytest.fixture
def make_mexc(ccxt_client: Callable[..., Any]) -> Callable[..., Any]:
    """ccxt mexc clients; ``defaults=True`` keeps ccxt's defaults (spot default type, currencies on)."""

    def make(*, defaults: bool = False, **config: Any) -> Any:
        options = {} if defaults else {"defaultType": "swap"}
        options.update(config.pop("options", {}))
        extra: dict[str, Any] = {} if defaults else {"has": {"fetchCurrencies": False}}  # the daemon's configuration
        return ccxt_client(VENUE, options=options, **{**extra, **config})

    return make

@pytest.fixture
async def mexc(make_mexc: Callable[..., Any]) -> Any:
    exchange = make_mexc()
    await exchange.load_markets()
    return exchange


async def raw_get(sim: SimulatorServer, path: str, query: str, request_time: int | None = None) -> Any:
    """A contract GET signed over ``query`` exactly as given (to send what ccxt never would)."""
    api_key, secret = sim.credentials(VENUE)
    stamp = str(request_time or int(time.time() * 1000))
    headers = {"ApiKey": api_key, "Request-Time": stamp, "Signature": hmac_sha256_hex(secret, api_key + stamp + query)}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.base_url(VENUE)}{path}?{query}", headers=headers) as response:
            return await response.json(content_type=None)


# ----------------------------------------------------------------------------- markets, time, funding
async def test_load_markets_with_daemon_options(sim: SimulatorServer, mexc: Any) -> None:
    market = mexc.market(S)
    assert market["id"] == "BTC_USDT" and market["swap"] and market["linear"] and market["active"]
    assert market["contractSize"] == 0.0001 and market["precision"] == {"amount": 1, "price": 0.1}
    assert market["limits"]["amount"] == {"min": 1, "max": 1000000} and market["limits"]["leverage"]["max"] == 125
    assert {S, ETH} <= set(mexc.markets)
    paths = [record.path for record in sim.requests.query(exchange=VENUE)]
    assert sorted(paths) == ["/api/v1/contract/detail", "/api/v3/exchangeInfo"]
    assert await mexc.fetch_time() == pytest.approx(sim.engine.now(), abs=5000)  # contract ping (defaultType swap)


async def test_load_markets_with_ccxt_defaults(sim: SimulatorServer, make_mexc: Any) -> None:
    exchange = make_mexc(defaults=True)
    await exchange.load_markets()
    assert exchange.market(S)["contractSize"] == 0.0001 and "USDT" in exchange.currencies
    [signed] = sim.requests.query(exchange=VENUE, path="/api/v3/capital/config/getall")
    assert signed.outcome == "ok" and signed.params["signature"] == "<redacted>"
    assert await exchange.fetch_time() == pytest.approx(sim.engine.now(), abs=5000)  # spot /api/v3/time
    assert (await exchange.fetch_balance())["total"] == {}  # default type spot: no spot assets
    swap = await exchange.fetch_balance({"type": "swap"})
    assert swap["USDT"]["free"] == 10000


async def test_fetch_funding_rate(sim: SimulatorServer, mexc: Any) -> None:
    instrument = sim.engine.venue(VENUE).instrument(S)
    rate = await mexc.fetch_funding_rate(S)
    assert rate["fundingRate"] == 0.0002 and rate["interval"] == "8h"
    assert rate["fundingTimestamp"] == instrument.next_funding_time
    sim.engine.set_funding(VENUE, S, rate="-0.0003", next_funding_in_seconds=60, interval_s=4 * 3600)
    rate = await mexc.fetch_funding_rate(S)
    assert rate["fundingRate"] == -0.0003 and rate["interval"] == "4h"
    assert rate["fundingTimestamp"] == sim.engine.venue(VENUE).instrument(S).next_funding_time
    with pytest.raises(ccxt.NotSupported):
        await mexc.fetch_funding_rates([S])


# ----------------------------------------------------------------------------- leverage
async def test_set_and_fetch_leverage_per_side(sim: SimulatorServer, mexc: Any) -> None:
    assert await mexc.set_leverage(10, S, {"openType": 2, "positionType": 1}) == {"success": True, "code": 0}
    await mexc.set_leverage(15, S, {"openType": 2, "positionType": 2})
    [first, _] = sim.requests.query(exchange=VENUE, path="/api/v1/private/position/change_leverage")
    assert first.params == {"leverage": 10, "openType": 2, "symbol": "BTC_USDT", "positionType": 1}
    leverage = await mexc.fetch_leverage(S)
    assert (leverage["longLeverage"], leverage["shortLeverage"], leverage["marginMode"]) == (10, 15, "cross")
    await mexc.set_leverage(5, S, {"openType": 1, "positionType": 1})  # openType 1 switches to isolated
    leverage = await mexc.fetch_leverage(S)
    assert (leverage["longLeverage"], leverage["shortLeverage"], leverage["marginMode"]) == (5, 15, "isolated")


@pytest.mark.parametrize(
    ("params", "error", "code"),
    [
        ({"leverage": 126, "symbol": "BTC_USDT", "openType": 2, "positionType": 1}, ccxt.ExchangeError, "2006"),
        ({"leverage": 0, "symbol": "BTC_USDT", "openType": 2, "positionType": 1}, ccxt.ExchangeError, "2006"),
        ({"leverage": 5, "symbol": "BTC_USDT"}, ccxt.BadRequest, "600"),  # no openType/positionType
        ({"leverage": 5, "symbol": "BTC_USDT", "openType": 2}, ccxt.BadRequest, "600"),
        ({"leverage": 5, "symbol": "BTC_USDT", "openType": 3, "positionType": 1}, ccxt.BadRequest, "600"),
        ({"leverage": 5, "symbol": "XRP_USDT", "openType": 2, "positionType": 1}, ccxt.BadSymbol, "1001"),
        ({"leverage": 5, "positionId": 999}, ccxt.InvalidOrder, "2009"),
    ],
)
async def test_raw_change_leverage_rejections(
    mexc: Any, params: dict[str, Any], error: type[Exception], code: str
) -> None:
    with pytest.raises(error, match=code):
        await mexc.contractPrivatePostPositionChangeLeverage(params)


async def test_set_leverage_checks_in_ccxt_and_above_maximum(mexc: Any) -> None:
    with pytest.raises(ccxt.ArgumentsRequired):
        await mexc.set_leverage(5, S)
    with pytest.raises(ccxt.ExchangeError, match="2006"):
        await mexc.set_leverage(126, S, {"openType": 2, "positionType": 1})


async def test_leverage_tiers_follow_the_instrument(sim: SimulatorServer, mexc: Any) -> None:
    instrument = sim.engine.venue(VENUE).instrument(S)
    tiers = (await mexc.fetch_leverage_tiers([S]))[S]
    assert tiers == await mexc.fetch_market_leverage_tiers(S)
    contract_value = instrument.contract_size * instrument.mark_price  # USDT per contract
    for computed, tier in zip(tiers, instrument.tiers, strict=False):  # ccxt tiers are in contracts
        assert Decimal(str(computed["minNotional"])) * contract_value == tier.notional_floor
        assert Decimal(str(computed["maxNotional"])) * contract_value == tier.notional_cap
        assert int(computed["maxLeverage"]) == tier.max_leverage
        assert Decimal(str(computed["maintenanceMarginRate"])) == tier.maint_margin_rate
    assert len(tiers) >= len(instrument.tiers)


# ----------------------------------------------------------------------------- orders
async def test_order_lifecycle(sim: SimulatorServer, mexc: Any) -> None:
    opened = await mexc.create_order(S, "market", "buy", 100, params={"clientOrderId": "open-1"})
    [record] = sim.requests.query(exchange=VENUE, path=ORDER)
    assert record.params == {"symbol": "BTC_USDT", "vol": 100.0, "type": 6, "openType": 2, "side": 1,
                             "externalOid": "open-1"}
    order = await mexc.fetch_order(opened["id"], S)
    assert (order["status"], order["filled"], order["amount"], order["average"]) == ("closed", 100, 100, 60000)
    assert order["side"] == "buy" and order["info"]["externalOid"] == "open-1" and order["fee"]["cost"] == 0.12
    by_client = await mexc.contractPrivateGetOrderExternalSymbolExternalOid(
        {"symbol": "BTC_USDT", "external_oid": "open-1"}
    )
    assert by_client["data"]["orderId"] == opened["id"] and by_client["data"]["state"] == 3

    [position] = await mexc.fetch_positions([S])
    assert (position["side"], position["contracts"], position["entryPrice"], position["leverage"]) == (
        "long", 100, 60000, 20)
    assert position["marginMode"] == "cross" and position["initialMargin"] == 30  # 600 / 20

    sim.engine.set_mark_price(VENUE, S, "61000")
    closed = await mexc.create_order(S, "market", "sell", 100, params={"reduceOnly": True, "clientOrderId": "c-1"})
    assert sim.requests.query(exchange=VENUE, path=ORDER)[-1].params["side"] == 4  # close long
    assert (await mexc.fetch_order(closed["id"], S))["info"]["side"] == 4
    assert await mexc.fetch_positions([S]) == []
    assert account(sim).realized_pnl == Decimal("10")  # (61000 − 60000) × 0.01 BTC

    fees = (Decimal("600") + Decimal("610")) * Decimal("0.0002")
    balance = await mexc.fetch_balance()
    assert Decimal(str(balance["USDT"]["free"])) == Decimal("10000") + Decimal("10") - fees
    trades = await mexc.fetch_my_trades(S)
    assert [(trade["side"], trade["amount"]) for trade in trades] == [("buy", 100), ("4", 100)]  # ccxt passes 3/4 raw


async def test_unknown_order_lookups(mexc: Any) -> None:
    with pytest.raises(ccxt.ExchangeError, match="2040"):
        await mexc.fetch_order("123", S)
    with pytest.raises(ccxt.ExchangeError, match="2040"):
        await mexc.contractPrivateGetOrderExternalSymbolExternalOid({"symbol": "BTC_USDT", "external_oid": "nope"})


@pytest.mark.parametrize(
    ("side", "amount", "params", "error", "code"),
    [
        ("buy", 400_000, {}, ccxt.InsufficientFunds, "2005"),  # 2.4 M notional / 20 = 120 000 margin
        ("buy", 600_000, {}, ccxt.ExchangeError, "2031"),  # 3.6 M: beyond the last risk level
        ("sell", 100, {"reduceOnly": True}, ccxt.InvalidOrder, "2009"),  # nothing to close
        ("buy", 100, {"marginMode": "isolated", "leverage": 200}, ccxt.ExchangeError, "2006"),
    ],
)
async def test_order_rejections(
    sim: SimulatorServer, mexc: Any, side: str, amount: int, params: dict[str, Any], error: type[Exception], code: str
) -> None:
    with pytest.raises(error, match=code):
        await mexc.create_order(S, "market", side, amount, params=params)
    assert account(sim).orders == []
    assert (await mexc.fetch_leverage(S))["marginMode"] == "cross"  # a rejected order changes nothing


async def test_close_side_rules_in_one_way_mode(sim: SimulatorServer, mexc: Any) -> None:
    await mexc.create_order(S, "market", "buy", 100)
    with pytest.raises(ccxt.InvalidOrder, match="2009"):  # close short (2) while long
        await mexc.create_order(S, "market", "buy", 100, params={"reduceOnly": True})
    with pytest.raises(ccxt.ExchangeError, match="2008"):  # close long bigger than the long: no flip
        await mexc.create_order(S, "market", "sell", 150, params={"reduceOnly": True})
    await mexc.create_order(S, "market", "sell", 40, params={"reduceOnly": True})
    [position] = await mexc.fetch_positions([S])
    assert (position["side"], position["contracts"]) == ("long", 60)
    with pytest.raises(ccxt.ExchangeError, match="2027"):  # isolated open while the cross long is held
        await mexc.create_order(S, "market", "buy", 10, params={"marginMode": "isolated", "leverage": 20})
    with pytest.raises(ccxt.ExchangeError, match="2021"):  # order leverage differs from the position's
        await mexc.contractPrivatePostOrderCreate({**BASE_ORDER, "leverage": 10})


async def test_duplicate_external_oid(mexc: Any) -> None:
    await mexc.create_order(S, "market", "buy", 100, params={"clientOrderId": "dup"})
    with pytest.raises(ccxt.BadRequest, match="603"):
        await mexc.create_order(S, "market", "buy", 100, params={"clientOrderId": "dup"})


BASE_ORDER = {"symbol": "BTC_USDT", "vol": 100, "type": 6, "openType": 2, "side": 1}


@pytest.mark.parametrize(
    ("changes", "error", "code"),
    [
        ({"symbol": "XRP_USDT"}, ccxt.BadSymbol, "1001"),
        ({"vol": 1.5}, ccxt.BadRequest, "2011"),  # not a whole multiple of volUnit
        ({"vol": 0}, ccxt.BadRequest, "2011"),
        ({"vol": 2_000_000}, ccxt.ExchangeError, "2028"),  # above maxVol
        ({"side": 5}, ccxt.ExchangeError, "2001"),
        ({"type": 1, "price": 60000}, ccxt.ExchangeError, "2029"),  # limit orders are not simulated
        ({"openType": None}, ccxt.BadRequest, "600"),
        ({"openType": 1}, ccxt.BadRequest, "600"),  # isolated needs leverage
        ({"positionMode": 1}, ccxt.BadRequest, "600"),  # the account is one-way
        ({"externalOid": "x" * 33}, ccxt.ExchangeError, "2030"),
    ],
)
async def test_raw_order_rejections(
    sim: SimulatorServer, mexc: Any, changes: dict[str, Any], error: type[Exception], code: str
) -> None:
    params = {key: value for key, value in {**BASE_ORDER, **changes}.items() if value is not None}
    with pytest.raises(error, match=code):
        await mexc.contractPrivatePostOrderCreate(params)
    assert account(sim).orders == []


# ----------------------------------------------------------------------------- hedge mode
async def test_hedge_mode_sides(sim: SimulatorServer, mexc: Any) -> None:
    await mexc.set_position_mode(True)
    assert (await mexc.fetch_position_mode())["hedged"] is True
    await mexc.create_order(S, "market", "buy", 100)  # side 1 open long
    await mexc.create_order(S, "market", "sell", 200)  # side 3 open short
    assert sorted((p["side"], p["contracts"]) for p in await mexc.fetch_positions([S])) == [
        ("long", 100), ("short", 200)]
    with pytest.raises(ccxt.ExchangeError, match="2019"):
        await mexc.set_position_mode(False)

    # ccxt 4.5.90 maps hedged sell+reduceOnly to side 2, which MEXC defines as CLOSE SHORT
    await mexc.create_order(S, "market", "sell", 200, params={"reduceOnly": True, "hedged": True})
    assert sim.requests.query(exchange=VENUE, path=ORDER)[-1].params == {
        "symbol": "BTC_USDT", "vol": 200.0, "type": 6, "openType": 2, "positionMode": 1, "side": 2}
    assert [(p["side"], p["contracts"]) for p in await mexc.fetch_positions([S])] == [("long", 100)]
    # an explicit MEXC side (params are merged last) closes the long as intended
    await mexc.create_order(S, "market", "sell", 100, params={"side": 4, "positionMode": 1})
    assert await mexc.fetch_positions([S]) == []
    with pytest.raises(ccxt.InvalidOrder, match="2009"):
        await mexc.create_order(S, "market", "sell", 100, params={"side": 4})
    with pytest.raises(ccxt.BadRequest, match="600"):  # reduceOnly is a one-way parameter
        await mexc.contractPrivatePostOrderCreate({**BASE_ORDER, "side": 3, "reduceOnly": True})
    await mexc.set_position_mode(False)
    assert account(sim).hedge_mode is False


# ----------------------------------------------------------------------------- funding
async def test_funding_history_after_settlement(sim: SimulatorServer, mexc: Any) -> None:
    await mexc.create_order(S, "market", "buy", 1000)  # 0.1 BTC long
    await mexc.create_order(ETH, "market", "sell", 100)  # 1 ETH short
    engine = sim.engine
    funding_time = engine.set_funding(VENUE, S, next_funding_in_seconds=0.3).next_funding_time
    engine.set_funding(VENUE, ETH, next_funding_time=funding_time)
    before = account(sim).balance
    await engine.wait_for_settlement(VENUE, S, funding_time, timeout=5)
    await engine.wait_for_settlement(VENUE, ETH, funding_time, timeout=5)

    [btc] = await mexc.fetch_funding_history(S)
    [eth] = await mexc.fetch_funding_history(ETH)
    assert btc["amount"] == -1.2  # long pays 0.1 × 60 000 × 0.0002
    assert eth["amount"] == 0.3  # short receives 1 × 3000 × 0.0001
    assert btc["timestamp"] == funding_time and btc["code"] is None  # ccxt quirk: no currency code
    assert btc["info"]["positionType"] == 1 and eth["info"]["positionType"] == 2
    assert btc["info"]["positionValue"] == 6000 and btc["info"]["rate"] == 0.0002
    assert len(await mexc.fetch_funding_history()) == 2
    assert account(sim).balance == before - Decimal("1.2") + Decimal("0.3")
    rates = await mexc.fetch_funding_rate_history(S)
    assert [(r["timestamp"], r["fundingRate"]) for r in rates] == [(funding_time, 0.0002)]
    [position] = await mexc.fetch_positions([S])
    assert position["info"]["holdFee"] == -1.2


# ----------------------------------------------------------------------------- authentication
async def test_bad_signature(make_mexc: Any) -> None:
    exchange = make_mexc(secret="not-the-secret")
    await exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="602"):
        await exchange.fetch_balance()


async def test_wrong_key(make_mexc: Any) -> None:
    exchange = make_mexc(apiKey="unknown-key")
    await exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="402"):
        await exchange.fetch_positions()


async def test_wrong_key_on_spot_signed_call(make_mexc: Any) -> None:
    exchange = make_mexc(defaults=True, apiKey="unknown-key")
    with pytest.raises(ccxt.BadRequest, match="10072"):  # ccxt maps MEXC's "Api key info invalid" to BadRequest
        await exchange.load_markets()


async def test_stale_request_time(make_mexc: Any) -> None:
    exchange = make_mexc(options={"timeDifference": 20_000})  # Request-Time 20 s in the past
    await exchange.load_markets()
    with pytest.raises(ccxt.InvalidNonce, match="700003"):
        await exchange.fetch_balance()


async def test_stale_spot_timestamp(make_mexc: Any) -> None:
    exchange = make_mexc(defaults=True, options={"timeDifference": 20_000})
    with pytest.raises(ccxt.InvalidNonce, match="700003"):
        await exchange.load_markets()


async def test_signature_covers_the_raw_sorted_query(sim: SimulatorServer) -> None:
    ok = await raw_get(sim, "/api/v1/private/position/leverage", "symbol=BTC_USDT")
    assert ok["success"] is True and len(ok["data"]) == 2
    unsorted = await raw_get(sim, "/api/v1/private/position/funding_records", "symbol=BTC_USDT&page_size=5")
    assert unsorted == {"success": False, "code": 602, "message": "Signature verification failed!"}
    ahead = int(time.time() * 1000) + 20_000
    future = await raw_get(sim, "/api/v1/private/position/leverage", "symbol=BTC_USDT", ahead)
    assert future["code"] == 700003


SPEC_VECTORS = [  # signatures ccxt 4.5.90 computes (apiKey testkey, secret testsecret, Request-Time 1700000000000)
    ("POST", "/api/v1/private/order/create", "",
     '{"symbol":"BTC_USDT","vol":100.0,"type":6,"openType":2,"side":4,"externalOid":"myid123"}',
     "869d4bea248794ed3030cb4d7bce1a5cbd86f4ae4f38bd8be72474193650a417"),
    ("GET", "/api/v1/private/order/get/739113577038255104", "symbol=BTC_USDT", "",
     "1cd2ddbe1ee17ada8ea8be3bd7e31d79fc5d468c2d1b4c7125c9daeb2d89a1e5"),
    ("GET", "/api/v1/private/position/funding_records", "page_size=50&symbol=BTC_USDT", "",
     "1c00fac286477515a9b1d05791581f9767a88a9ca1db30684116ad0db02766b7"),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "signature"), SPEC_VECTORS)
@pytest.mark.parametrize(("now_offset_ms", "accepted"), [(0, True), (9_000, True), (-9_000, True), (11_000, False)])
def test_spec_signature_vectors(
    method: str, path: str, query: str, body: str, signature: str, now_offset_ms: int, accepted: bool
) -> None:
    engine = Engine(clock=lambda: 1700000000000 + now_offset_ms)
    engine.add_venue(VENUE)
    engine.add_account(VENUE, "testkey", "testsecret", 1000)
    sent = {"ApiKey": "testkey", "Request-Time": "1700000000000", "Signature": signature}
    headers = CIMultiDictProxy(CIMultiDict(sent))
    request = SimRequest(VENUE, method, path, query, body, headers, 0)
    ctx = RequestContext(engine, engine.venue(VENUE), request)
    if accepted:
        assert DIALECT.authenticate(ctx).api_key == "testkey"
    else:
        with pytest.raises(SimError) as raised:
            DIALECT.authenticate(ctx)
        assert raised.value.kind is ErrorKind.AUTH_TIMESTAMP
    tampered = SimRequest(VENUE, method, path, query + "&x=1" if query else query, body + " ", headers, 0)
    with pytest.raises(SimError) as raised:
        DIALECT.authenticate(RequestContext(engine, engine.venue(VENUE), tampered))
    assert raised.value.kind is ErrorKind.AUTH_BAD_SIGNATURE


# ----------------------------------------------------------------------------- faults
@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [
        ("RATE_LIMITED", ccxt.RateLimitExceeded, "510"),
        ("MAINTENANCE", ccxt.OnMaintenance, "500"),
        ("INTERNAL_ERROR", ccxt.ExchangeError, "500"),
        ("AUTH_BAD_SIGNATURE", ccxt.AuthenticationError, "602"),
        ("AUTH_INVALID_KEY", ccxt.AuthenticationError, "402"),
        ("AUTH_MISSING_KEY", ccxt.AuthenticationError, "401"),
        ("AUTH_TIMESTAMP", ccxt.InvalidNonce, "700003"),
        ("MISSING_PARAMETER", ccxt.BadRequest, "600"),
        ("INSUFFICIENT_MARGIN", ccxt.InsufficientFunds, "2005"),
        ("UNKNOWN_ENDPOINT", ccxt.ExchangeNotAvailable, "404"),
    ],
)
async def test_error_faults(
    sim: SimulatorServer, mexc: Any, kind: str, error: type[Exception], code: str
) -> None:
    sim.faults.add(action="error", exchange=VENUE, method="POST", path=ORDER, error_kind=kind)
    with pytest.raises(error, match=code):
        await mexc.create_order(S, "market", "buy", 100)
    assert account(sim).orders == []


def test_every_error_kind_renders_a_mexc_body() -> None:
    for kind in ErrorKind:
        status, body = DIALECT.error_body(kind, "engine text", {"param": "symbol", "leverage": 5})
        if kind in (ErrorKind.UNKNOWN_ENDPOINT, ErrorKind.UNKNOWN_VENUE):
            assert (status, body) == (404, "Not Found")
        else:
            assert status == 200 and body["success"] is False and body["code"] not in (0, 9999), kind
            assert set(body) == {"success", "code", "message"}


async def test_latency_fault(sim: SimulatorServer, mexc: Any) -> None:
    sim.faults.add(action="latency", exchange=VENUE, path="/api/v1/contract/funding_rate/*", latency_ms=300)
    started = time.perf_counter()
    assert (await mexc.fetch_funding_rate(S))["fundingRate"] == 0.0002
    assert time.perf_counter() - started >= 0.3


async def test_http_5xx_is_exchange_not_available(sim: SimulatorServer, mexc: Any) -> None:
    sim.faults.add(action="http_5xx", exchange=VENUE, path="/api/v1/private/account/assets", status=502)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await mexc.fetch_balance()


async def test_dropped_connection_is_network_error(sim: SimulatorServer, mexc: Any) -> None:
    sim.faults.add(action="drop", exchange=VENUE, method="POST", path=ORDER)
    with pytest.raises(ccxt.NetworkError):
        await mexc.create_order(S, "market", "buy", 100)
    assert account(sim).orders == []


async def test_lost_response_then_found_by_external_oid(sim: SimulatorServer, mexc: Any) -> None:
    sim.faults.add(action="lost_response", exchange=VENUE, method="POST", path=ORDER, lost_delay_ms=3000)
    mexc.timeout = 300  # ms
    with pytest.raises(ccxt.RequestTimeout):
        await mexc.create_order(S, "market", "buy", 100, params={"clientOrderId": "lost-1"})
    mexc.timeout = 10_000
    response = await mexc.contractPrivateGetOrderExternalSymbolExternalOid(
        {"symbol": "BTC_USDT", "external_oid": "lost-1"}
    )
    order = mexc.parse_order(response["data"], mexc.market(S))
    assert (order["status"], order["filled"]) == ("closed", 100)
    assert (await mexc.fetch_order(order["id"], S))["status"] == "closed"


# ----------------------------------------------------------------------------- Appendix C shapes
APPENDIX_C_KEYS = {
    "order": {"orderId", "symbol", "positionId", "price", "priceStr", "vol", "leverage", "side", "category",
              "orderType", "dealAvgPrice", "dealAvgPriceStr", "dealVol", "orderMargin", "takerFee", "makerFee",
              "profit", "feeCurrency", "openType", "state", "externalOid", "errorCode", "usedMargin", "createTime",
              "updateTime", "positionMode", "version"},
    "position": {"positionId", "symbol", "positionType", "openType", "state", "holdVol", "frozenVol", "closeVol",
                 "holdAvgPrice", "holdAvgPriceFullyScale", "openAvgPrice", "openAvgPriceFullyScale",
                 "closeAvgPrice", "liquidatePrice", "oim", "im", "holdFee", "realised", "leverage", "marginRatio",
                 "createTime", "updateTime", "autoAddIm", "version", "profitRatio", "newOpenAvgPrice",
                 "newCloseAvgPrice", "closeProfitLoss", "fee", "deductFeeList", "totalFee",
                 "zeroSaveTotalFeeBinance", "zeroTradeTotalFeeBinance"},
    "funding_rate": {"symbol", "fundingRate", "maxFundingRate", "minFundingRate", "collectCycle", "nextSettleTime",
                     "timestamp"},
    "leverage": {"level", "maxVol", "mmr", "imr", "positionType", "openType", "leverage", "limitBySys",
                 "currentMmr"},
    "assets": {"currency", "positionMargin", "availableBalance", "cashBalance", "frozenBalance", "equity",
               "unrealized", "bonus", "availableCash", "availableOpen"},
    "deal": {"id", "symbol", "side", "vol", "price", "feeCurrency", "fee", "timestamp", "profit", "isTaker",
             "category", "orderId", "opponent", "positionMode", "positionId"},
    "funding_record": {"id", "symbol", "positionType", "positionValue", "funding", "rate", "settleTime"},
    "ticker": {"contractId", "symbol", "lastPrice", "bid1", "ask1", "volume24", "amount24", "holdVol",
               "lower24Price", "high24Price", "riseFallRate", "riseFallValue", "indexPrice", "fairPrice",
               "fundingRate", "maxBidPrice", "minAskPrice", "timestamp", "riseFallRates", "riseFallRatesOfTimezone"},
}
DETAIL_KEYS = {"symbol", "baseCoin", "quoteCoin", "settleCoin", "contractSize", "priceUnit", "volUnit", "minVol",
               "maxVol", "minLeverage", "maxLeverage", "takerFeeRate", "makerFeeRate", "state",
               "maintenanceMarginRate", "initialMarginRate", "riskIncrVol", "riskIncrMmr", "riskIncrImr",
               "displayNameEn", "positionOpenType", "priceScale", "volScale", "riskBaseVol", "riskLevelLimit",
               "apiAllowed", "isHidden", "createTime"}


async def test_bodies_have_appendix_c_keys(sim: SimulatorServer, mexc: Any) -> None:
    opened = await mexc.create_order(S, "market", "buy", 100, params={"clientOrderId": "shape"})
    create = await mexc.contractPrivatePostOrderCreate({**BASE_ORDER, "side": 3, "vol": 10})
    assert set(create) == {"success", "code", "data"} and set(create["data"]) == {"orderId", "ts"}
    assert set((await mexc.fetch_order(opened["id"], S))["info"]) == APPENDIX_C_KEYS["order"]
    [position] = await mexc.fetch_positions([S])
    assert set(position["info"]) == APPENDIX_C_KEYS["position"]
    assert set((await mexc.fetch_funding_rate(S))["info"]) == APPENDIX_C_KEYS["funding_rate"]
    assert all(set(row) == APPENDIX_C_KEYS["leverage"] for row in (await mexc.fetch_leverage(S))["info"])
    assert set((await mexc.fetch_balance())["info"]["data"][0]) == APPENDIX_C_KEYS["assets"]
    assert set((await mexc.fetch_my_trades(S))[0]["info"]) == APPENDIX_C_KEYS["deal"]
    assert set((await mexc.fetch_ticker(S))["info"]) == APPENDIX_C_KEYS["ticker"]
    assert DETAIL_KEYS <= set(mexc.market(S)["info"])
    assert (await mexc.contractPublicGetPing())["data"] == pytest.approx(sim.engine.now(), abs=5000)
    sim.engine.set_funding(VENUE, S, next_funding_in_seconds=0.05)
    await sim.engine.wait_for_settlement(VENUE, S, timeout=5)
    [record] = await mexc.fetch_funding_history(S)
    assert set(record["info"]) == APPENDIX_C_KEYS["funding_record"]
