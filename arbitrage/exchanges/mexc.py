"""MEXC contract (swap) quirks over the shared ccxt connector.

Amounts are contracts on MEXC (base = contracts × contractSize); the shared connector converts with exact
Decimals from the market's contractSize and refuses non-integral contract counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt

from arbitrage.domain import OrderSide, Side
from arbitrage.exchanges import reports
from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.ccxt_orders import CcxtMarket, CcxtOrder
from arbitrage.exchanges.connector import ErrorKind, ExchangeError, LeverageTierInfo
from arbitrage.exchanges.signing import WindowStyle

# MEXC order `side`: 1 open long, 2 close short, 3 open short, 4 close long (MEXC API docs). ccxt 4.5.90 maps the
# hedged reduce-only case the other way round (sell + reduceOnly → 2, close short, where closing a long is 4), so the
# side is always sent explicitly.
_SIDE_CODE: dict[tuple[OrderSide, bool], int] = {
    ("buy", False): 1,
    ("buy", True): 2,
    ("sell", False): 3,
    ("sell", True): 4,
}
_CODE_SIDE: dict[str, OrderSide] = {"1": "buy", "2": "buy", "3": "sell", "4": "sell"}
_OPEN_TYPE = {"isolated": 1, "cross": 2}
_HEDGE_POSITION_MODE = 1
_ORDER_MISSING_CODE = "2040"


@contextmanager
def _missing_order_is_not_found(order_ref: str) -> Iterator[None]:
    """ccxt maps no MEXC code to OrderNotFound; an order lookup answering "order does not exist" is one."""
    try:
        yield
    except ccxt.ExchangeError as error:
        text = str(error)
        if isinstance(error, ccxt.AuthenticationError) or (
            f'"code":{_ORDER_MISSING_CODE}' not in text.replace(" ", "") and "order does not exist" not in text.lower()
        ):
            raise
        raise ccxt.OrderNotFound(f"mexc order {order_ref} not found") from None


class MexcConnector(CcxtConnector):
    exchange_id = "mexc"
    ccxt_class = ccxt.mexc
    window_style = WindowStyle.SECONDS_HEADER  # contract API: a Recv-Window header in seconds
    ccxt_has = {"fetchCurrencies": False}  # no spot capital call during load_markets
    ccxt_options = {"defaultType": "swap"}  # default 'spot' would send balance etc. to the spot API
    funding_amount_field = "funding"  # + received

    def _funding_row_symbol(self, row: dict[str, Any]) -> str | None:
        # ccxt copies the requested symbol into each row (None when none was asked): read the row's own id.
        market_id = (row.get("info") or {}).get("symbol")
        symbol = self.client.safe_symbol(market_id, None, None, "swap") if market_id else None
        return symbol if symbol in (self.client.markets or {}) else None

    def _enable_sandbox(self) -> None:
        raise ExchangeError(
            self.exchange_id,
            "connect",
            "mexc has no sandbox",
            kind=ErrorKind.NOT_SUPPORTED,
            hint="unset ARBITRAGE_EXCHANGES__MEXC__SANDBOX (use BASE_URL for the simulator)",
        )

    async def _apply_leverage(self, market: CcxtMarket, leverage: int) -> None:
        # Leverage is per position type (1 long, 2 short) and needs the margin type (openType): keep the current.
        current = await self.client.fetch_leverage(market["symbol"])
        open_type = _OPEN_TYPE.get(str(current.get("marginMode")), _OPEN_TYPE["cross"])
        for position_type in (1, 2):
            await self.client.set_leverage(
                leverage, market["symbol"], {"openType": open_type, "positionType": position_type}
            )

    def _order_params(
        self, side: OrderSide, client_order_id: str, reduce_only: bool, hedge_side: Side | None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"clientOrderId": client_order_id, "side": _SIDE_CODE[(side, reduce_only)]}
        if hedge_side is not None:
            params["positionMode"] = _HEDGE_POSITION_MODE
        return params

    async def _fetch_order_by_id(self, market: CcxtMarket, order_id: str) -> CcxtOrder:
        with _missing_order_is_not_found(order_id):
            return dict(await self.client.fetch_order(order_id, market["symbol"]))

    async def _fetch_order_by_client_id(self, market: CcxtMarket, client_order_id: str) -> CcxtOrder:
        # GET order/external/{symbol}/{external_oid}: ccxt has no unified lookup by externalOid.
        with _missing_order_is_not_found(client_order_id):
            response = await self.client.contractPrivateGetOrderExternalSymbolExternalOid(
                {"symbol": market["id"], "external_oid": client_order_id}
            )
        data = response.get("data")
        if not data:
            raise ccxt.OrderNotFound(f"mexc order {client_order_id} not found")
        return dict(self.client.parse_order(data, market))

    def _order_side(self, order: CcxtOrder) -> OrderSide | None:
        # ccxt maps side 2 (close short = a buy) to 'sell' and passes 3/4 through raw.
        info = order.get("info") or {}
        return _CODE_SIDE.get(str(info.get("side"))) if isinstance(info, dict) else None

    def _order_fee(self, order: CcxtOrder) -> tuple[Decimal | None, str | None]:
        info = order.get("info") or {}
        taker, maker = reports.dec(info.get("takerFee")), reports.dec(info.get("makerFee"))
        if taker is None and maker is None:
            return reports.ccxt_fee(order)
        return (taker or Decimal(0)) + (maker or Decimal(0)), info.get("feeCurrency") or "USDT"

    async def _all_funding_rates(self) -> dict[str, dict[str, Any]]:
        # ccxt has no fetch_funding_rates for MEXC; GET contract/ticker without a symbol carries every contract's
        # current fundingRate (no next settle time or collectCycle: those are on funding_rate/{symbol} only).
        response = await self.client.contractPublicGetTicker()
        by_id = {market["id"]: symbol for symbol, market in (self.client.markets or {}).items() if market.get("swap")}
        rates = {}
        for row in response.get("data") or []:
            symbol = by_id.get(row.get("symbol"))
            if symbol is not None:
                rates[symbol] = {"fundingRate": row.get("fundingRate"), "markPrice": row.get("fairPrice")}
        return rates

    async def _leverage_tiers(self, market: CcxtMarket) -> list[LeverageTierInfo]:
        # ccxt's computed tiers are in contracts; the contract's max leverage as one tier is in quote terms.
        return self._single_tier(market)

    async def _all_leverage_tiers(self) -> dict[str, list[LeverageTierInfo]]:
        # The contract's max leverage per market, from the loaded markets: no request. (MEXC's funding interval is
        # only on the per-symbol funding_rate endpoint, so a refresh leaves it unknown rather than send hundreds.)
        return self._single_tiers_of_every_market()
