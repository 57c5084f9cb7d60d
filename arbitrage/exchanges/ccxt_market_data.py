"""The scanner's reads over ccxt: every symbol's funding rate in one request, the top of an order book, the taker
fee rate. A mixin of `CcxtConnector` (it uses the connector's `_read`, markets and settings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrage.exchanges import reports
from arbitrage.exchanges.connector import ExchangeError, FundingRateInfo, OrderBookTop


class CcxtMarketData:
    client: Any
    exchange_id: str
    next_funding_field: str
    taker_fee_override: Decimal | None

    # ---- hooks -----------------------------------------------------------------------------------------------

    async def _all_funding_rates(self) -> dict[str, dict[str, Any]]:
        """ccxt funding-rate structures by unified symbol, from one request."""
        return dict(await self.client.fetch_funding_rates())

    def _rate_interval(self, data: dict[str, Any]) -> int | None:
        return reports.interval_hours(data.get("interval"))

    def _book_limit(self, limit: int) -> int:
        return limit

    # ---- reads ----------------------------------------------------------------------------------------------

    async def fetch_funding_rates(self) -> dict[str, FundingRateInfo]:
        await self.load_markets()  # type: ignore[attr-defined]
        rows = await self._read("fetch_funding_rates", self._all_funding_rates)  # type: ignore[attr-defined]
        markets = self.client.markets or {}
        rates = {}
        for symbol, data in rows.items():
            market = markets.get(symbol)
            rate = reports.dec(data.get("fundingRate"))
            if market is None or not reports.is_usdt_perpetual(market) or rate is None:
                continue
            rates[symbol] = FundingRateInfo(
                exchange=self.exchange_id,
                symbol=symbol,
                rate=rate,
                next_funding_time=reports.from_ms(data.get(self.next_funding_field)),
                mark_price=reports.dec(data.get("markPrice")),
                interval_hours=self._rate_interval(data),
            )
        return rates

    async def fetch_order_book(self, symbol: str, limit: int) -> OrderBookTop:
        market = await self._loaded_market(symbol)  # type: ignore[attr-defined]
        book = await self._read(  # type: ignore[attr-defined]
            "fetch_order_book", lambda: self.client.fetch_order_book(symbol, self._book_limit(limit))
        )
        size = reports.contract_size(market)

        def levels(rows: Any) -> list[tuple[Decimal, Decimal]]:
            result = []
            for row in (rows or [])[:limit]:
                price, amount = reports.dec(row[0]), reports.dec(row[1])
                if price is None or amount is None:
                    raise ExchangeError(self.exchange_id, "fetch_order_book", f"unreadable book level {row!r}")
                result.append((price, amount * size))  # MEXC levels are contracts
            return result

        return OrderBookTop(self.exchange_id, symbol, levels(book.get("bids")), levels(book.get("asks")))

    def taker_fee_rate(self, symbol: str) -> Decimal | None:
        if self.taker_fee_override is not None:
            return self.taker_fee_override
        market = (self.client.markets or {}).get(symbol) or {}
        return reports.dec(market.get("taker"))
