"""Bybit's all-symbol funding read: ccxt sends the page size as `size`, Bybit reads `limit` (default 50). With
more positions than one page holds, the batch says it is incomplete and the symbols missing from it are asked for
alone, so every subscription's payment is found. (Found by review: the connector took a page of 50 as complete.)
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from arbitrage.exchanges.factory import build_connectors
from arbitrage.services.funding_confirmation import _POLLS, collect_funding_payments
from arbitrage.services.leverage_sync import LegVenue
from arbitrage.simulator.accounts import FundingPayment, PositionSide
from arbitrage.simulator.scenario import generated_scenario
from arbitrage.simulator.server import SimulatorServer
from tests.exchanges.conftest import simulator_settings

SYMBOLS = 120  # more than Bybit's largest page (100)


async def test_payments_past_bybits_first_page_are_found() -> None:
    async with SimulatorServer(scenario=generated_scenario(SYMBOLS), host="127.0.0.1", port=0) as sim:
        registry = build_connectors(simulator_settings(sim))
        try:
            bybit = registry.get("bybit")
            await bybit.load_markets()
            venue = sim.engine.venue("bybit")
            account = sim.engine.account("bybit")
            funding_time = sim.engine.now() - 1000
            symbols = [s for s in venue.instruments if s in bybit.client.markets][:SYMBOLS]
            assert len(symbols) == SYMBOLS
            for index, symbol in enumerate(symbols):  # one funding instant, one position per symbol
                account.funding_history.append(FundingPayment(
                    id=str(10_000 + index), symbol=symbol, position_side=PositionSide.BOTH, amount=Decimal("-1"),
                    rate=Decimal("0.0001"), mark_price=Decimal(100), size=Decimal(1), base_size=Decimal(1),
                    position_value=Decimal(100), funding_time=funding_time, paid_time=funding_time))
            since = datetime.fromtimestamp(funding_time / 1000, UTC) - timedelta(seconds=60)

            batch = await bybit.fetch_all_funding_payments(since)
            seen = {p.symbol for p in batch.payments}
            last = symbols[-1]
            alone = await bybit.fetch_funding_payments(last, since)

            _POLLS.clear()
            found = await collect_funding_payments(
                [LegVenue(bybit, last)], opened_at=since, funding_time=since + timedelta(seconds=60),
                expected={"bybit"}, timeout_seconds=0.3, poll_interval_seconds=0.1)

            assert alone, "the payment exists"
            assert len(seen) == 100 and not batch.complete, "one full page of 100, which says more may exist"
            assert found["bybit"], "confirmation missed a payment that exists"
        finally:
            await registry.close()
            await asyncio.sleep(0)
