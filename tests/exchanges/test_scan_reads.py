"""The scanner's reads through our connectors: every symbol's funding in one request, book tops, taker fees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal as D

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
RATE_PATHS = {
    "binanceusdm": "/fapi/v1/premiumIndex",
    "bybit": "/v5/market/tickers",
    "bingx": "/openApi/swap/v2/quote/premiumIndex",
    "mexc": "/api/v1/contract/ticker",
}


async def test_every_symbols_rate_in_one_request(sim: SimulatorServer, connector: CcxtConnector,
                                                 exchange_id: str) -> None:
    venue = sim.engine.venue(exchange_id)
    sim.engine.set_funding(exchange_id, "ETH/USDT:USDT", interval_s=4 * 3600)
    before = len(sim.requests.query(exchange=exchange_id))
    rates = await connector.fetch_funding_rates()
    sent = sim.requests.query(exchange=exchange_id)[before:]
    assert [record.path for record in sent] == [RATE_PATHS[exchange_id]]
    assert {symbol: info.rate for symbol, info in rates.items()} == {
        symbol: instrument.funding_rate for symbol, instrument in venue.instruments.items()
    }
    btc = rates[S]
    if exchange_id == "mexc":  # the ticker has neither: the scanner takes them from collectCycle and the UTC grid
        assert (btc.next_funding_time, btc.interval_hours) == (None, None)
    else:
        assert btc.next_funding_time is not None
        assert int(btc.next_funding_time.timestamp() * 1000) == venue.instruments[S].next_funding_time
    if exchange_id in ("bybit", "bingx"):  # fresh from the answer itself
        assert (btc.interval_hours, rates["ETH/USDT:USDT"].interval_hours) == (8, 4)


async def test_book_top_in_base_units(sim: SimulatorServer, connector: CcxtConnector, exchange_id: str) -> None:
    instrument = sim.engine.venue(exchange_id).instruments[S]
    sim.engine.update_instrument(exchange_id, S, book_half_spread_ticks=2, book_level_qty=D(3) * instrument.min_qty)
    book = await connector.fetch_order_book(S, 3)
    tick, size = instrument.tick_size, instrument.contract_size
    assert book.asks == [(instrument.mark_price + (2 + i) * tick, 3 * instrument.min_qty * size) for i in range(3)]
    assert book.bids == [(instrument.mark_price - (2 + i) * tick, 3 * instrument.min_qty * size) for i in range(3)]


async def test_taker_fee_from_markets_or_the_setting(sim: SimulatorServer, exchange_id: str,
                                                     make_connector: Callable[..., Awaitable[CcxtConnector]]) -> None:
    connector = await make_connector()
    market_rate = connector.taker_fee_rate(S)
    assert market_rate is not None and D(0) <= market_rate < D("0.01")
    overridden = await make_connector(exchange_overrides={exchange_id: {"taker_fee": "0.0001"}})
    assert overridden.taker_fee_rate(S) == D("0.0001")
