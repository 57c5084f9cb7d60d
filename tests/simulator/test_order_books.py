"""Order-book depth and all-symbol funding in each exchange's dialect, read by unmodified ccxt over loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
DEPTH_PATHS = {
    "binanceusdm": "/fapi/v1/depth",
    "bybit": "/v5/market/orderbook",
    "bingx": "/openApi/swap/v2/quote/depth",
    "mexc": "/api/v1/contract/depth/BTC_USDT",
}
OPTIONS: dict[str, dict[str, Any]] = {
    "binanceusdm": {},
    "bybit": {"options": {"fetchMarkets": {"types": ["linear"]}}},
    "bingx": {"options": {"defaultType": "swap"}, "has": {"fetchCurrencies": False}},
    "mexc": {"options": {"defaultType": "swap"}, "has": {"fetchCurrencies": False}},
}


@pytest.fixture
def scenario(scenario: dict[str, Any]) -> dict[str, Any]:
    for venue in scenario["venues"].values():
        btc = next(item for item in venue["instruments"] if item["symbol"] == S)
        btc.update(book_half_spread_ticks=3, book_step_ticks=2, book_level_qty="5" if "contract_size" in btc else "0.5")
    return scenario


@pytest.mark.parametrize("exchange_id", sorted(DEPTH_PATHS))
async def test_depth_is_a_ladder_around_the_mark(exchange_id: str, sim: SimulatorServer,
                                                 ccxt_client: Callable[..., Any]) -> None:
    client = ccxt_client(exchange_id, **OPTIONS[exchange_id])
    await client.load_markets()
    book = await client.fetch_order_book(S, 5)
    tick = float(client.markets[S]["precision"]["price"])
    assert [price for price, *_ in book["asks"]] == pytest.approx([60000 + (3 + 2 * i) * tick for i in range(5)])
    assert [price for price, *_ in book["bids"]] == pytest.approx([60000 - (3 + 2 * i) * tick for i in range(5)])
    # in the venue's order unit: MEXC counts contracts (5 × 0.0001 BTC)
    assert {amount for _, amount, *_ in book["asks"]} == {5.0 if exchange_id == "mexc" else 0.5}
    assert [record.path for record in sim.requests.query(exchange=exchange_id, path=DEPTH_PATHS[exchange_id])]


@pytest.mark.parametrize(("exchange_id", "limit"), [("binanceusdm", 7), ("bybit", 501), ("bingx", 30)])
async def test_depth_refuses_a_limit_the_exchange_refuses(exchange_id: str, limit: int, sim: SimulatorServer) -> None:
    params = {"symbol": {"binanceusdm": "BTCUSDT", "bybit": "BTCUSDT", "bingx": "BTC-USDT"}[exchange_id],
              "limit": str(limit), "category": "linear"}
    async with aiohttp.ClientSession() as session:
        async with session.get(sim.base_url(exchange_id) + DEPTH_PATHS[exchange_id], params=params) as response:
            body = await response.json(content_type=None)
    code = body.get("code", body.get("retCode"))
    assert code not in (0, None), body


async def test_binance_depth_weighs_by_limit(sim: SimulatorServer, ccxt_client: Callable[..., Any]) -> None:
    client = ccxt_client("binanceusdm")
    await client.load_markets()
    before = sim.state.limiter.usage()
    await client.fetch_order_book(S, 100)
    usage = sim.state.limiter.usage()
    assert _weight(usage) - _weight(before) == 5


def _weight(usage: dict[str, list[dict[str, Any]]]) -> int:
    return sum(int(row["used"]) for row in usage.get("binanceusdm", []) if row["rule"] == "ip_weight")


async def test_interval_change_moves_the_next_funding(sim: SimulatorServer, ccxt_client: Callable[..., Any]) -> None:
    client = ccxt_client("bybit", **OPTIONS["bybit"])
    await client.load_markets()
    before = (await client.fetch_funding_rates([S, "ETH/USDT:USDT"]))[S]
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sim.url}/admin/funding",
                                json={"exchange": "bybit", "symbol": S, "interval_hours": 1}) as response:
            assert response.status == 200
    rates = await client.fetch_funding_rates()
    after = rates[S]
    assert after["info"]["fundingIntervalHour"] == "1"
    assert after["fundingTimestamp"] % 3_600_000 == 0
    # Within the hour, and never later than the 8-hourly one was (the same one when that was within the hour).
    assert after["fundingTimestamp"] - sim.engine.now() <= 3_600_000
    assert after["fundingTimestamp"] <= before["fundingTimestamp"]
    assert rates["ETH/USDT:USDT"]["info"]["fundingIntervalHour"] == "8"


async def test_binance_funding_info_lists_only_adjusted_symbols(sim: SimulatorServer) -> None:
    sim.engine.set_funding("binanceusdm", "ETH/USDT:USDT", interval_s=4 * 3600)
    async with aiohttp.ClientSession() as session:
        async with session.get(sim.base_url("binanceusdm") + "/fapi/v1/fundingInfo") as response:
            rows = await response.json()
    assert [(row["symbol"], row["fundingIntervalHours"]) for row in rows] == [("ETHUSDT", 4)]


async def test_mexc_ticker_gives_every_symbols_rate_in_one_call(sim: SimulatorServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(sim.base_url("mexc") + "/api/v1/contract/ticker") as response:
            body = await response.json()
    assert {row["symbol"]: row["fundingRate"] for row in body["data"]} == {
        "BTC_USDT": 0.0002, "ETH_USDT": 0.0001, "SOL_USDT": -0.00005}
