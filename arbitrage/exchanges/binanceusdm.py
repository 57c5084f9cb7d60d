"""Binance USDⓈ-M quirks over the shared ccxt connector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from arbitrage.exchanges import reports
from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.ccxt_orders import CcxtMarket
from arbitrage.exchanges.connector import OrderReport
from arbitrage.exchanges.urls import to_original_url

DEFAULT_INTERVAL_HOURS = 8  # a symbol absent from fundingInfo
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)  # the only depths /fapi/v1/depth accepts


class _BinanceUsdm(ccxt.binanceusdm):  # type: ignore[misc]
    """ccxt applies the futures error table (-2019 → InsufficientFunds, -4164 → InvalidOrder, ...) only when the
    request URL starts with https://fapi.binance.com/. Behind a BASE_URL override the URL is
    mapped back to the production URL it stands for, so errors are classified exactly as in production."""

    production_url_prefixes: list[tuple[str, str]] = []

    def get_exceptions_by_url(self, url: str | None, exactOrBroad: str) -> dict[str, Any]:  # noqa: N803
        if url is not None and self.production_url_prefixes:
            url = to_original_url(url, self.production_url_prefixes)
        return super().get_exceptions_by_url(url, exactOrBroad)  # type: ignore[no-any-return]


class BinanceUsdmConnector(CcxtConnector):
    exchange_id = "binanceusdm"
    ccxt_class = _BinanceUsdm
    ccxt_options = {"fetchCurrencies": False}  # otherwise load_markets calls spot sapi endpoints when keyed
    funding_amount_field = "income"  # + received
    funding_page_limit = 1000
    # Binance documents weight 5 for position information; ccxt's table says 1 for the V3 path: the larger is kept.
    # (premiumIndex without a symbol weighs 10, ccxt counts 1: one such read per scan, within the budget's margin
    # for under-weighted endpoints; a table entry would count every per-symbol read at 10 too.)
    request_weights = {("fapiPrivateV3", "positionRisk"): 5}

    def _book_limit(self, limit: int) -> int:
        return next((depth for depth in DEPTH_LIMITS if depth >= limit), DEPTH_LIMITS[-1])

    def _enable_sandbox(self) -> None:
        # ccxt's futures testnet mode raises NotSupported on every private call; Binance's demo-fapi replaces it.
        self.client.enable_demo_trading(True)

    def _on_urls_overridden(self, prefixes: list[tuple[str, str]]) -> None:
        self.client.production_url_prefixes = prefixes

    async def _real_fee(self, market: CcxtMarket, report: OrderReport) -> Decimal | None:
        # The order body has no commission: sum the order's trades (one cheap signed GET; real Binance filters
        # by orderId, the rows are filtered here too).
        if report.exchange_order_id is None:
            return None
        try:
            trades = await self._once(
                "fetch_my_trades",
                lambda: self.client.fetch_my_trades(market["symbol"], None, None, {"orderId": report.exchange_order_id}),
            )
        except Exception:  # the fee is informative: fall back to the taker-rate estimate
            return None
        commissions = [
            reports.dec((trade.get("info") or {}).get("commission"))
            for trade in trades
            if str(trade.get("order")) == report.exchange_order_id
        ]
        if not commissions or any(value is None for value in commissions):
            return None
        return sum((value for value in commissions if value is not None), Decimal(0))

    async def _funding_intervals(self) -> dict[str, int]:
        # GET /fapi/v1/fundingInfo: one call; Binance lists only symbols whose interval or caps were adjusted, every
        # other perpetual settles every 8 h.
        adjusted = await self.client.fetch_funding_intervals()
        intervals = {
            symbol: DEFAULT_INTERVAL_HOURS
            for symbol, market in (self.client.markets or {}).items() if reports.is_usdt_perpetual(market)
        }
        intervals.update({
            symbol: hours for symbol, row in adjusted.items() if (hours := reports.interval_hours(row.get("interval")))
        })
        return intervals
