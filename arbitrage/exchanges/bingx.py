"""BingX perpetual swap (USDT-M) quirks over the shared ccxt connector."""

from __future__ import annotations

import ccxt.async_support as ccxt

from arbitrage.exchanges import reports
from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.ccxt_orders import CcxtMarket, CcxtOrder
from arbitrage.exchanges.connector import LeverageTierInfo, PositionMode
from arbitrage.exchanges.signing import WindowStyle


class BingxConnector(CcxtConnector):
    exchange_id = "bingx"
    ccxt_class = ccxt.bingx
    window_style = WindowStyle.PARAM  # ccxt sends bingx no window: a signed recvWindow parameter
    ccxt_has = {"fetchCurrencies": False}  # no wallets/capital call during load_markets
    ccxt_options = {"defaultType": "swap"}  # default 'spot' would send balance etc. to the spot API
    next_funding_field = "nextFundingTimestamp"  # ccxt leaves fundingTimestamp None for bingx
    funding_amount_field = "income"  # + received
    funding_page_limit = 1000
    # 100421 is "Null timestamp or timestamp mismatch"; ccxt 4.5.90 maps it to BadSymbol.
    exact_errors = {"100421": ccxt.InvalidNonce}

    def _max_leverage(self, market: CcxtMarket) -> int | None:
        # ccxt leaves limits.leverage empty for bingx; the contract lists a max per side.
        info = market.get("info") or {}
        sides = [reports.to_int(info.get(key)) for key in ("maxLongLeverage", "maxShortLeverage")]
        known = [value for value in sides if value is not None]
        return min(known) if known else None

    async def _apply_leverage(self, market: CcxtMarket, leverage: int) -> None:
        # BingX requires `side`: BOTH on one-way accounts (109400 otherwise), LONG and SHORT on hedge accounts.
        if await self.known_position_mode() is PositionMode.HEDGE:
            for side in ("LONG", "SHORT"):
                await self.client.set_leverage(leverage, market["symbol"], {"side": side})
        else:
            await self.client.set_leverage(leverage, market["symbol"], {"side": "BOTH"})

    async def _fetch_order_by_client_id(self, market: CcxtMarket, client_order_id: str) -> CcxtOrder:
        # GET trade/order accepts clientOrderId instead of orderId; ccxt's fetch_order always sends orderId.
        response = await self.client.swapV2PrivateGetTradeOrder(
            {"symbol": market["id"], "clientOrderId": client_order_id}
        )
        data = response.get("data") or {}
        order = data.get("order", data) if isinstance(data, dict) else None
        if not order:
            raise ccxt.OrderNotFound(f"bingx order {client_order_id} not found")
        return dict(self.client.parse_order(order, market))

    async def _leverage_tiers(self, market: CcxtMarket) -> list[LeverageTierInfo]:
        # maintMarginRatio tiers carry no max leverage: the market's max leverage as one unbounded tier.
        return self._single_tier(market)

    async def _all_leverage_tiers(self) -> dict[str, list[LeverageTierInfo]]:
        # ccxt has no bulk tiers for bingx (and its per-symbol tiers carry no max leverage): from the markets.
        return self._single_tiers_of_every_market()

    async def _funding_intervals(self) -> dict[str, int]:
        # premiumIndex for every symbol in one call; ccxt derives `interval` from it.
        rates = await self.client.fetch_funding_rates()
        return {symbol: hours for symbol, rate in rates.items() if (hours := reports.interval_hours(rate.get("interval")))}
