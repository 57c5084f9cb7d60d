"""Funding confirmation polls: one request answers every subscription of an instant on the same exchange, whatever
its symbol; a full page falls back to asking per symbol; a venue that paid is not asked again; the pause between
polls backs off."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from arbitrage.exchanges.connector import FundingPaymentBatch, FundingPaymentReport
from arbitrage.services.clock import utcnow
from arbitrage.services.funding_confirmation import collect_funding_payments
from arbitrage.services.leverage_sync import LegVenue

FUNDING = utcnow().replace(microsecond=0)


class FundingHistory:
    def __init__(self, exchange_id: str, pays_after_calls: int, page_complete: bool = True) -> None:
        self.exchange_id = exchange_id
        self.calls: list[float] = []
        self.symbol_calls: list[str] = []
        self._pays_after = pays_after_calls
        self._page_complete = page_complete

    async def fetch_all_funding_payments(self, since):
        self.calls.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.01)
        if len(self.calls) < self._pays_after or not self._page_complete:
            return FundingPaymentBatch([], complete=self._page_complete)
        return FundingPaymentBatch([self._payment(symbol) for symbol in (BTC, ETH)], complete=True)

    async def fetch_funding_payments(self, symbol: str, since):
        self.symbol_calls.append(symbol)
        await asyncio.sleep(0.01)
        return [self._payment(symbol)]

    def _payment(self, symbol: str) -> FundingPaymentReport:
        return FundingPaymentReport(self.exchange_id, symbol, Decimal("1.5"), FUNDING, f"p-{symbol}")


BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


async def collect(
    primary: FundingHistory, hedge: FundingHistory, opened_at=FUNDING - timedelta(seconds=3), symbol: str = BTC
):
    return await collect_funding_payments(
        [LegVenue(primary, symbol), LegVenue(hedge, symbol)],  # type: ignore[arg-type]
        opened_at=opened_at, funding_time=FUNDING, expected={"bybit"}, timeout_seconds=5,
        poll_interval_seconds=0.05,
    )


async def test_subscriptions_of_one_instant_share_each_poll() -> None:
    primary, hedge = FundingHistory("bybit", pays_after_calls=3), FundingHistory("binanceusdm", pays_after_calls=1)
    results = await asyncio.gather(*(collect(primary, hedge, FUNDING - timedelta(seconds=s)) for s in (1, 2, 3)))
    assert all(result["bybit"] and result["binanceusdm"] for result in results)
    assert len(primary.calls) == 3, "three rounds, each one request for all three subscriptions"
    assert len(hedge.calls) == 1, "the hedge paid in the first round: not asked again"


async def test_the_pause_between_polls_doubles() -> None:
    primary, hedge = FundingHistory("bybit", pays_after_calls=4), FundingHistory("binanceusdm", pays_after_calls=1)
    await collect(primary, hedge)
    pauses = [later - earlier for earlier, later in zip(primary.calls, primary.calls[1:])]
    assert 0.05 <= pauses[0] < 0.09 and 0.1 <= pauses[1] < 0.14 and 0.2 <= pauses[2] < 0.25


async def test_subscriptions_on_other_symbols_share_the_exchanges_poll() -> None:
    primary, hedge = FundingHistory("bybit", pays_after_calls=2), FundingHistory("binanceusdm", pays_after_calls=1)
    btc, eth = await asyncio.gather(collect(primary, hedge, symbol=BTC), collect(primary, hedge, symbol=ETH))
    assert [p.symbol for p in btc["bybit"]] == [BTC] and [p.symbol for p in eth["bybit"]] == [ETH]
    assert len(primary.calls) == 2 and len(hedge.calls) == 1, "one request per exchange and round, for both symbols"
    assert primary.symbol_calls == [] and hedge.symbol_calls == []


async def test_a_full_page_without_the_symbol_asks_for_it_alone() -> None:
    primary = FundingHistory("bybit", pays_after_calls=1, page_complete=False)
    hedge = FundingHistory("binanceusdm", pays_after_calls=1)
    result = await collect(primary, hedge)
    assert [p.symbol for p in result["bybit"]] == [BTC]
    assert primary.symbol_calls == [BTC] and hedge.symbol_calls == []
