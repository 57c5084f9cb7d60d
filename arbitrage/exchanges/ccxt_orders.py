"""The order half of `CcxtConnector`: sending a market order with its receive window, reading its fill back, and
looking an order up. A mixin of `CcxtConnector` (it uses the client, the request wrappers and the market cache
that class provides); venue modules override its hooks (`_order_params`, the lookups, `_real_fee`) as data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from arbitrage.domain import OrderSide, Side
from arbitrage.exchanges import orders, reports
from arbitrage.exchanges.connector import (
    ClockOffset,
    ErrorKind,
    ExchangeError,
    OrderNotFound,
    OrderReport,
    OrderState,
    PositionMode,
    SentRequest,
)
from arbitrage.exchanges.signing import OrderWindow, order_window
from arbitrage.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")
CcxtOrder = dict[str, Any]
CcxtMarket = dict[str, Any]

# After a create response without fill details, the order is read back; an exchange may need a moment to index it.
FOLLOW_UP_DELAYS_SECONDS = (0.05, 0.2, 0.5, 1.0)


class CcxtOrders:
    exchange_id: str
    client: Any
    order_window_ms: int
    clock: ClockOffset
    _position_mode: PositionMode | None

    async def _once(self, operation: str, call: Callable[[], Awaitable[T]], *, order: bool = False) -> T:
        raise NotImplementedError

    async def _read(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def _loaded_market(self, symbol: str) -> CcxtMarket:
        raise NotImplementedError

    async def known_position_mode(self) -> PositionMode:
        raise NotImplementedError

    def _order_params(
        self, side: OrderSide, client_order_id: str, reduce_only: bool, hedge_side: Side | None
    ) -> dict[str, Any]:
        # ccxt's hedged convention (binance, bybit, bingx): `hedged` + side picks LONG/SHORT, reduceOnly flips it.
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if reduce_only:
            params["reduceOnly"] = True
        if hedge_side is not None:
            params["hedged"] = True
        return params

    async def _fetch_order_by_id(self, market: CcxtMarket, order_id: str) -> CcxtOrder:
        return dict(await self.client.fetch_order(order_id, market["symbol"]))

    async def _fetch_order_by_client_id(self, market: CcxtMarket, client_order_id: str) -> CcxtOrder:
        return dict(await self.client.fetch_order(None, market["symbol"], {"clientOrderId": client_order_id}))

    def _order_side(self, order: CcxtOrder) -> OrderSide | None:
        side = order.get("side")
        return side if side in ("buy", "sell") else None

    def _order_fee(self, order: CcxtOrder) -> tuple[Decimal | None, str | None]:
        return reports.ccxt_fee(order)

    async def _real_fee(self, market: CcxtMarket, report: OrderReport) -> Decimal | None:
        """The order's real commission when the order body lacks it (binance reads its trades)."""
        return None

    def _report(
        self,
        market: CcxtMarket,
        order: CcxtOrder,
        client_order_id: str,
        requested: Decimal | None = None,
        side: OrderSide | None = None,
    ) -> OrderReport:
        fee = self._order_fee(order)
        side = self._order_side(order) or side
        return reports.order_report(self.exchange_id, market, order, client_order_id, requested, side, fee)

    async def _with_fee(self, market: CcxtMarket, report: OrderReport) -> OrderReport:
        if report.fee is not None or report.filled <= 0:
            return report
        fee = await self._real_fee(market, report)
        currency = market.get("settle")
        if fee is None and report.average_price is not None and market.get("taker") is not None:
            # Estimate (taker fee rate from load_markets) where the exchange reports no commission.
            fee = report.filled * report.average_price * reports.dec(market["taker"])  # type: ignore[operator]
        if fee is None:
            return report
        return OrderReport(**{**report.__dict__, "fee": fee, "fee_currency": report.fee_currency or currency})

    async def create_market_order(
        self,
        symbol: str,
        side: OrderSide,
        amount: Decimal,
        client_order_id: str,
        *,
        reduce_only: bool = False,
        position_side: Side | None = None,
        execute_before: datetime | None = None,
    ) -> OrderReport:
        market = await self._loaded_market(symbol)
        contracts = orders.to_contracts(self.exchange_id, market, amount)
        mode = await self.known_position_mode()
        hedge_side = orders.hedge_position_side(self.exchange_id, mode, side, reduce_only, position_side)
        params = self._order_params(side, client_order_id, reduce_only, hedge_side)
        window = OrderWindow(self.order_window_ms, reports.to_ms(execute_before) if execute_before else None)
        try:
            with order_window(window):
                created = await self._once(
                    "create_order",
                    lambda: self.client.create_order(symbol, "market", side, float(contracts), None, params),
                    order=True,
                )
        except ExchangeError as error:
            if not error.outcome_unknown:
                self._position_mode = None  # a mode switched behind our back shows up as a rejection: re-read it
            error.request = self._sent_request(window)
            raise
        request = self._sent_request(window)
        report = self._report(market, dict(created), client_order_id, amount, side)
        log.info(
            "order_created",
            exchange=self.exchange_id,
            symbol=symbol,
            side=side,
            amount=str(amount),
            client_order_id=client_order_id,
            exchange_order_id=report.exchange_order_id,
        )
        if report.state is not OrderState.FILLED or report.average_price is None:
            report = await self._follow_up(market, report, amount, side, request)
        report = await self._with_fee(market, report)
        return OrderReport(**{**report.__dict__, "request": request})

    def _sent_request(self, window: OrderWindow) -> SentRequest | None:
        if window.signed_at_ms is None or window.applied_ms is None:
            return None
        signed_at = reports.from_ms(window.signed_at_ms)
        assert signed_at is not None
        closes = signed_at + timedelta(milliseconds=window.applied_ms + self.clock.bound_ms)
        written_at = datetime.fromtimestamp(window.written_at, UTC) if window.written_at is not None else None
        return SentRequest(signed_at, closes, written_at)

    def executable_until(self, signed_by: datetime, execute_before: datetime | None = None) -> datetime:
        # An order's window never reaches past its execute_before (signing shortens it), so neither does this.
        closes = signed_by + timedelta(milliseconds=self.order_window_ms)
        if execute_before is not None:
            closes = min(closes, execute_before)
        return closes + timedelta(milliseconds=self.clock.bound_ms)

    async def _follow_up(
        self, market: CcxtMarket, created: OrderReport, amount: Decimal, side: OrderSide,
        request: SentRequest | None,
    ) -> OrderReport:
        """Read a just-created order back for its fill (bybit/bingx/mexc create responses carry only ids)."""
        last: ExchangeError | None = None
        for delay in (0.0, *FOLLOW_UP_DELAYS_SECONDS):
            await asyncio.sleep(delay)
            try:
                if created.exchange_order_id is not None:
                    order = await self._once(
                        "fetch_order", lambda: self._fetch_order_by_id(market, created.exchange_order_id or "")
                    )
                else:
                    order = await self._once(
                        "fetch_order", lambda: self._fetch_order_by_client_id(market, created.client_order_id)
                    )
            except ExchangeError as error:
                if not (error.retryable or isinstance(error, OrderNotFound)):
                    break
                last = error
                continue
            report = self._report(market, order, created.client_order_id, amount, side)
            if report.state not in (OrderState.OPEN,) or report.filled > 0:
                return report
        reason = f"order {created.client_order_id} was sent but its fill could not be read back"
        if last is not None:
            reason += f" ({last.reason})"
        raise ExchangeError(
            self.exchange_id, "create_order", reason, retryable=True, outcome_unknown=True, kind=ErrorKind.TIMEOUT,
            exchange_order_id=created.exchange_order_id, request=request,
        )

    async def fetch_order(
        self, symbol: str, client_order_id: str, exchange_order_id: str | None = None
    ) -> OrderReport:
        market = await self._loaded_market(symbol)
        if exchange_order_id is not None:
            order = await self._read("fetch_order", lambda: self._fetch_order_by_id(market, exchange_order_id))
        else:
            order = await self._read("fetch_order", lambda: self._fetch_order_by_client_id(market, client_order_id))
        return await self._with_fee(market, self._report(market, order, client_order_id))
