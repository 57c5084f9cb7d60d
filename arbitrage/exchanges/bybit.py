"""Bybit v5 (unified trading account, category linear) quirks over the shared ccxt connector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from arbitrage.exchanges import reports
from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.ccxt_orders import CcxtMarket, CcxtOrder
from arbitrage.exchanges.connector import PositionMode

# Position rows of a hedge-mode account carry positionIdx 1 (long) / 2 (short); one-way rows carry 0.
_HEDGE_POSITION_IDX = {"1", "2"}
_PROBE_SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT")


class BybitConnector(CcxtConnector):
    exchange_id = "bybit"
    # ccxt sends the page size as `size`; Bybit reads `limit` (1..100, default 50)
    funding_page_params = {"limit": 100}
    ccxt_class = ccxt.bybit
    ccxt_has = {"fetchCurrencies": False}  # the option is ignored by bybit; only `has` stops the coin query
    ccxt_options = {
        "fetchMarkets": {"types": ["linear"]},  # 2 requests instead of 12
        # Skip the two account-type probes per instance: accounts are unified trading accounts (UTA).
        "enableUnifiedAccount": True,
        "enableUnifiedMargin": False,
    }
    funding_amount_field = "execFee"  # a FEE field (+ paid): normalize_funding_amount negates it for bybit

    async def _apply_leverage(self, market: CcxtMarket, leverage: int) -> None:
        try:
            await self.client.set_leverage(leverage, market["symbol"])  # ccxt sends buyLeverage = sellLeverage
        except ccxt.BadRequest as error:
            if "110043" not in str(error):  # "leverage not modified": already at that leverage = success
                raise

    async def _fetch_position_mode(self) -> PositionMode:
        # ccxt has no fetch_position_mode for bybit: read a symbol's position rows (returned even when flat).
        markets = self.client.markets or {}
        symbol = next((s for s in _PROBE_SYMBOLS if s in markets), None) or next(
            s for s, m in markets.items() if m.get("swap") and m.get("linear")
        )
        response = await self.client.privateGetV5PositionList(
            {"category": "linear", "symbol": markets[symbol]["id"]}
        )
        rows: list[dict[str, Any]] = (response.get("result") or {}).get("list") or []
        hedged = any(str(row.get("positionIdx")) in _HEDGE_POSITION_IDX for row in rows)
        return PositionMode.HEDGE if hedged else PositionMode.ONE_WAY

    async def _fetch_order_by_id(self, market: CcxtMarket, order_id: str) -> CcxtOrder:
        # ccxt refuses fetch_order on UTA without `acknowledged` (it only sees the last 500 orders).
        return dict(await self.client.fetch_order(order_id, market["symbol"], {"acknowledged": True}))

    async def _fetch_order_by_client_id(self, market: CcxtMarket, client_order_id: str) -> CcxtOrder:
        response = await self.client.privateGetV5OrderRealtime(
            {"category": "linear", "symbol": market["id"], "orderLinkId": client_order_id}
        )
        rows = (response.get("result") or {}).get("list") or []
        if not rows:
            raise ccxt.OrderNotFound(f"bybit order {client_order_id} not found")
        return dict(self.client.parse_order(rows[0], market))

    def _order_fee(self, order: CcxtOrder) -> tuple[Decimal | None, str | None]:
        # ccxt reads only the newer `cumFeeDetail`; `cumExecFee` (settle coin, + paid) is on every v5 order row.
        info = order.get("info") or {}
        fee = reports.dec(info.get("cumExecFee")) if isinstance(info, dict) else None
        return (fee, "USDT") if fee is not None else reports.ccxt_fee(order)

    def _rate_interval(self, data: dict[str, Any]) -> int | None:
        # The ticker's fundingIntervalHour is current (Bybit moves a symbol to hourly settlement when its rate hits
        # the cap); ccxt's `interval` comes from the instruments loaded with the markets, which may predate that.
        hours = reports.to_int((data.get("info") or {}).get("fundingIntervalHour"))
        return hours or reports.interval_hours(data.get("interval"))

    async def _funding_intervals(self) -> dict[str, int]:
        # instruments-info carries fundingInterval (minutes) for every market: no request.
        intervals = {}
        for symbol, market in (self.client.markets or {}).items():
            minutes = reports.to_int((market.get("info") or {}).get("fundingInterval"))
            if reports.is_usdt_perpetual(market) and minutes and minutes % 60 == 0:
                intervals[symbol] = minutes // 60
        return intervals
