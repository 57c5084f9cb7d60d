"""What a markets refresh asks each connector for: every market's tiers and funding interval, cheaply."""

from __future__ import annotations

from decimal import Decimal

from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.simulator.server import SimulatorServer

# Requests a bulk tier + interval fetch may send per venue (markets already loaded).
ALLOWED_PATHS = {
    "binanceusdm": {"/fapi/v1/leverageBracket", "/fapi/v1/fundingInfo"},
    "bybit": {"/v5/market/risk-limit"},
    "bingx": {"/openApi/swap/v2/quote/premiumIndex"},
    "mexc": set(),
}


async def test_every_market_gets_its_tiers_and_interval_in_a_few_requests(
    sim: SimulatorServer, connector: CcxtConnector, exchange_id: str
) -> None:
    venue = sim.engine.venue(exchange_id)
    before = len(sim.requests.query(exchange=exchange_id))
    tiers = await connector.all_leverage_tiers()
    intervals = await connector.funding_intervals()
    sent = sim.requests.query(exchange=exchange_id)[before:]
    assert {r.path for r in sent} <= ALLOWED_PATHS[exchange_id] and len(sent) <= 2

    assert set(tiers) == set(venue.instruments)
    for symbol, instrument in venue.instruments.items():
        if exchange_id in ("binanceusdm", "bybit"):
            assert [(t.notional_floor, t.notional_cap, t.max_leverage) for t in tiers[symbol]] == [
                (t.notional_floor, t.notional_cap, t.max_leverage) for t in instrument.tiers
            ]
        else:  # one unbounded tier at the market's max leverage
            assert [(t.notional_floor, t.notional_cap, t.max_leverage) for t in tiers[symbol]] == [
                (Decimal(0), None, instrument.max_leverage)
            ]
    expected = {} if exchange_id == "mexc" else {s: 8 for s in venue.instruments}
    assert intervals == expected
