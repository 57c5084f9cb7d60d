"""Partially filled market orders (thin book): a ``partial_fill`` fault or an instrument's ``market_liquidity``,
seen through unmodified ccxt on every venue and through our connectors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from arbitrage.exchanges.connector import ConnectorRegistry, OrderState
from arbitrage.exchanges.factory import build_connectors
from arbitrage.settings import Settings
from arbitrage.simulator.accounts import OrderRequest, Side
from arbitrage.simulator.server import SimulatorServer
from arbitrage.simulator.trading import execute_order

S = "BTC/USDT:USDT"
PRICE = Decimal("60000")  # every venue's BTC mark in the default scenario (no slippage)
BALANCE = Decimal("10000")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Venue:
    """How one exchange shows a partial fill: ccxt amounts are contracts on MEXC (0.0001 BTC each)."""

    exchange_id: str
    order_path: str
    amount: Decimal  # requested, ccxt units
    fault: dict[str, str]  # the fill limit of the partial_fill fault
    filled: Decimal  # expected executed quantity, ccxt units
    contract_size: Decimal
    raw_status: tuple[str, Any]  # (info field, value) as the exchange reports it
    ccxt_status: str
    config: dict[str, Any]
    create_reports_fill: bool  # binance answers with the RESULT body; the others only acknowledge

    @property
    def base_filled(self) -> Decimal:
        return self.filled * self.contract_size


DAEMON_LIKE = {"has": {"fetchCurrencies": False}}
VENUES = [
    Venue("binanceusdm", "/fapi/v1/order", Decimal("0.01"), {"fill_ratio": "0.65"}, Decimal("0.006"), Decimal(1),
          ("status", "EXPIRED"), "expired", {"options": {"fetchCurrencies": True}}, True),
    Venue("bybit", "/v5/order/create", Decimal("0.01"), {"fill_qty": "0.006"}, Decimal("0.006"), Decimal(1),
          ("orderStatus", "PartiallyFilledCanceled"), "closed",
          {**DAEMON_LIKE, "options": {"fetchMarkets": {"types": ["linear"]}, "enableUnifiedAccount": True,
                                      "enableUnifiedMargin": False}}, False),
    Venue("bingx", "/openApi/swap/v2/trade/order", Decimal("0.01"), {"fill_ratio": "0.6"}, Decimal("0.006"),
          Decimal(1), ("status", "CANCELLED"), "canceled", {**DAEMON_LIKE, "options": {"defaultType": "swap"}}, False),
    Venue("mexc", "/api/v1/private/order/create", Decimal(100), {"fill_qty": "60"}, Decimal(60), Decimal("0.0001"),
          ("state", 4), "canceled", {**DAEMON_LIKE, "options": {"defaultType": "swap"}}, False),
]
BY_ID = {venue.exchange_id: venue for venue in VENUES}


@pytest.fixture
def make_client(ccxt_client: Callable[..., Any]) -> Callable[[Venue], Awaitable[Any]]:
    async def make(venue: Venue) -> Any:
        exchange = ccxt_client(venue.exchange_id, **venue.config)
        await exchange.load_markets()
        return exchange

    return make


async def fetch_by_client_id(exchange: Any, venue: Venue, client_order_id: str) -> dict[str, Any]:
    """Each venue's lookup by client order id, as our connectors do it."""
    market = exchange.market(S)
    if venue.exchange_id == "bybit":
        response = await exchange.privateGetV5OrderRealtime(
            {"category": "linear", "symbol": market["id"], "orderLinkId": client_order_id}
        )
        return exchange.parse_order(response["result"]["list"][0], market)
    if venue.exchange_id == "bingx":
        response = await exchange.swapV2PrivateGetTradeOrder({"symbol": market["id"], "clientOrderId": client_order_id})
        return exchange.parse_order(response["data"]["order"], market)
    if venue.exchange_id == "mexc":
        response = await exchange.contractPrivateGetOrderExternalSymbolExternalOid(
            {"symbol": market["id"], "external_oid": client_order_id}
        )
        return exchange.parse_order(response["data"], market)
    return await exchange.fetch_order(None, S, {"clientOrderId": client_order_id})


async def fetch_by_id(exchange: Any, venue: Venue, order_id: str) -> dict[str, Any]:
    params = {"acknowledged": True} if venue.exchange_id == "bybit" else {}
    return await exchange.fetch_order(order_id, S, params)


def assert_partial(order: dict[str, Any], venue: Venue) -> None:
    field, value = venue.raw_status
    assert order["info"][field] == value
    assert order["status"] == venue.ccxt_status
    assert Decimal(str(order["amount"])) == venue.amount
    assert Decimal(str(order["filled"])) == venue.filled < venue.amount
    assert Decimal(str(order["average"])) == PRICE


def position_contracts(rows: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(row["contracts"])) for row in rows if row["contracts"]), ZERO)


@pytest.mark.parametrize("venue", VENUES, ids=lambda venue: venue.exchange_id)
async def test_market_order_partially_filled(sim: SimulatorServer, make_client: Any, venue: Venue) -> None:
    exchange = await make_client(venue)
    fault = sim.faults.add(action="partial_fill", exchange=venue.exchange_id, method="POST",
                           path=venue.order_path, **venue.fault)
    client_order_id = f"pf{venue.exchange_id[:4]}1"

    created = await exchange.create_order(S, "market", "buy", float(venue.amount),
                                          params={"clientOrderId": client_order_id})
    if venue.create_reports_fill:
        assert_partial(created, venue)
    by_id = await fetch_by_id(exchange, venue, created["id"])
    assert_partial(by_id, venue)
    by_client_id = await fetch_by_client_id(exchange, venue, client_order_id)
    assert_partial(by_client_id, venue)
    assert by_client_id["id"] == created["id"]

    assert position_contracts(await exchange.fetch_positions([S])) == venue.filled
    account = sim.engine.account(venue.exchange_id)
    fee = venue.base_filled * PRICE * sim.engine.venue(venue.exchange_id).instrument(S).taker_fee
    assert account.fees_paid == fee and account.balance == BALANCE - fee, "fees of the filled part only"
    assert [fill.quantity for fill in account.fills] == [venue.filled]
    assert sim.faults.list() == [], "times=1: used up by the order"
    [record] = sim.requests.query(exchange=venue.exchange_id, path=venue.order_path, method="POST")
    assert record.fault_id == fault.id

    again = await exchange.create_order(S, "market", "buy", float(venue.amount))
    assert Decimal(str((await fetch_by_id(exchange, venue, again["id"]))["filled"])) == venue.amount


async def test_fault_is_used_only_by_an_executed_order(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="partial_fill", exchange="binanceusdm", fill_ratio="0.5", times=2)
    await binance.fetch_positions([S])  # matches the fault's path "*" but places no order
    with pytest.raises(Exception, match="-2022|ReduceOnly"):
        await binance.create_order(S, "market", "sell", 0.01, params={"reduceOnly": True})  # rejected: no position
    first = await binance.create_order(S, "market", "buy", 0.01)
    second = await binance.create_order(S, "market", "buy", 0.01)
    third = await binance.create_order(S, "market", "buy", 0.01)
    assert [order["filled"] for order in (first, second, third)] == [0.005, 0.005, 0.01]
    assert [order["status"] for order in (first, second, third)] == ["expired", "expired", "closed"]


async def test_closing_order_partially_filled_reduces_by_the_filled_part(sim: SimulatorServer, binance: Any) -> None:
    await binance.create_order(S, "market", "buy", 0.01)
    sim.engine.set_mark_price("binanceusdm", S, "61000")
    sim.faults.add(action="partial_fill", exchange="binanceusdm", method="POST", path="/fapi/v1/order",
                   fill_qty="0.004")
    closed = await binance.create_order(S, "market", "sell", 0.01, params={"reduceOnly": True})
    assert (closed["status"], closed["filled"], closed["remaining"]) == ("expired", 0.004, 0.006)
    account = sim.engine.account("binanceusdm")
    assert account.realized_pnl == Decimal("0.004") * (Decimal("61000") - PRICE)
    [position] = await binance.fetch_positions([S])
    assert Decimal(str(position["contracts"])) == Decimal("0.006")


async def test_nothing_fills_when_the_limit_rounds_to_zero(sim: SimulatorServer, binance: Any) -> None:
    sim.faults.add(action="partial_fill", exchange="binanceusdm", fill_qty="0.0009")  # below one 0.001 step
    order = await binance.create_order(S, "market", "buy", 0.01)
    assert (order["status"], order["filled"], order["info"]["executedQty"]) == ("expired", 0.0, "0.000")
    assert position_contracts(await binance.fetch_positions([S])) == 0
    account = sim.engine.account("binanceusdm")
    assert (account.fills, account.fees_paid, account.balance) == ([], ZERO, BALANCE)


@pytest.mark.parametrize(
    "fault",
    [
        {"fill_ratio": "1"},
        {"fill_ratio": "-0.1"},
        {"fill_qty": "-1"},
        {},
        {"fill_ratio": "0.5", "fill_qty": "1"},
    ],
)
def test_partial_fill_fault_needs_one_valid_limit(sim: SimulatorServer, fault: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        sim.faults.add(action="partial_fill", **fault)


def test_fill_limits_belong_to_partial_fill_faults(sim: SimulatorServer) -> None:
    with pytest.raises(ValueError, match="partial_fill"):
        sim.faults.add(action="latency", latency_ms=1, fill_ratio="0.5")


# ----------------------------------------------------------------------------- market liquidity
async def test_market_liquidity_from_the_scenario_caps_every_order(scenario: dict[str, Any]) -> None:
    [btc] = [i for i in scenario["venues"]["mexc"]["instruments"] if i["symbol"] == S]
    btc["market_liquidity"] = "30"  # contracts
    async with SimulatorServer(scenario=scenario, host="127.0.0.1", port=0) as server:
        instrument = server.engine.venue("mexc").instrument(S)
        assert instrument.market_liquidity == Decimal(30)
        assert instrument.to_dict()["market_liquidity"] == "30"
        account = server.engine.account("mexc")
        venue = server.engine.venue("mexc")
        first = execute_order(venue, account, OrderRequest(S, Side.BUY, Decimal(100)))
        second = execute_order(venue, account, OrderRequest(S, Side.BUY, Decimal(20)))
        assert (first.status.value, first.executed_qty) == ("EXPIRED", Decimal(30))
        assert (second.status.value, second.executed_qty) == ("FILLED", Decimal(20))
        assert account.position(S, first.position_side).size == Decimal(50)


async def test_market_liquidity_through_engine_and_admin_api(sim: SimulatorServer, binance: Any) -> None:
    sim.engine.update_instrument("binanceusdm", S, market_liquidity="0.003")
    assert (await binance.create_order(S, "market", "buy", 0.01))["filled"] == 0.003

    admin = f"{sim.base_url('binanceusdm').rsplit('/', 1)[0]}/admin/instruments"
    async with aiohttp.ClientSession() as session:
        async with session.post(admin, json={"exchange": "binanceusdm", "symbol": S, "market_liquidity": "0.007"}) as r:
            assert r.status == 200 and (await r.json())["instrument"]["market_liquidity"] == "0.007"
        assert (await binance.create_order(S, "market", "buy", 0.01))["filled"] == 0.007
        async with session.post(admin, json={"exchange": "binanceusdm", "symbol": S, "market_liquidity": None}) as r:
            assert r.status == 200
    assert (await binance.create_order(S, "market", "buy", 0.01))["filled"] == 0.01


async def test_partial_fill_fault_through_the_admin_api(sim: SimulatorServer, binance: Any) -> None:
    admin = f"{sim.base_url('binanceusdm').rsplit('/', 1)[0]}/admin/faults"
    body = {"action": "partial_fill", "exchange": "binanceusdm", "path": "/fapi/v1/order", "fill_ratio": "0.3"}
    async with aiohttp.ClientSession() as session, session.post(admin, json=body) as response:
        assert response.status == 200
        assert (await response.json())["fault"]["fill_ratio"] == "0.3"
    assert (await binance.create_order(S, "market", "buy", 0.01))["filled"] == 0.003


# ----------------------------------------------------------------------------- our connectors
@pytest.fixture
async def registry(sim: SimulatorServer) -> AsyncIterator[ConnectorRegistry]:
    exchanges = {}
    for exchange_id in sim.exchange_ids:
        api_key, secret = sim.credentials(exchange_id)
        exchanges[exchange_id] = {"base_url": sim.base_url(exchange_id), "api_key": api_key, "secret": secret}
    settings = Settings(_env_file=None, exchanges=exchanges)  # type: ignore[call-arg]
    connectors = build_connectors(settings)
    yield connectors
    await connectors.close()


@pytest.mark.parametrize("venue", VENUES, ids=lambda venue: venue.exchange_id)
async def test_connector_reports_the_filled_part_in_base_units(
    sim: SimulatorServer, registry: ConnectorRegistry, venue: Venue
) -> None:
    connector = registry.get(venue.exchange_id)
    await connector.load_markets()
    sim.faults.add(action="partial_fill", exchange=venue.exchange_id, method="POST", path=venue.order_path,
                   **venue.fault)
    requested = venue.amount * venue.contract_size
    created = await connector.create_market_order(S, "buy", requested, "pfconn1")
    looked_up = await connector.fetch_order(S, "pfconn1")
    for report in (created, looked_up):
        assert report.state is OrderState.PARTIALLY_FILLED
        assert (report.filled, report.amount) == (venue.base_filled, requested)
        assert report.average_price == PRICE
        assert report.raw_status == str(venue.raw_status[1])
    [position] = await connector.fetch_positions(S)
    assert (position.side, position.amount) == ("LONG", venue.base_filled)
