"""`CcxtConnector`: the one shared implementation of `ExchangeConnector` over `ccxt.async_support`.

Venue modules subclass it with data (ccxt options, field names) and small hook overrides, each saying why.
Reads and idempotent settings are retried inside a deadline; order creation is sent exactly once.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import ccxt.async_support as ccxt

from arbitrage.domain.venues import VENUES
from arbitrage.exchanges import reports
from arbitrage.exchanges.connector import (
    ClockOffset,
    ErrorKind,
    ExchangeError,
    FundingRateInfo,
    LeverageInfo,
    LeverageTierInfo,
    MarketInfo,
    PositionMode,
)
from arbitrage.exchanges.errors import classify
from arbitrage.exchanges.order_connections import hold_order_connection, proxied, warming_order_connections
from arbitrage.exchanges.retry import retry_safe
from arbitrage.exchanges.budget import Priority, RequestBudget, priority
from arbitrage.exchanges.ccxt_account import CcxtAccountReads
from arbitrage.exchanges.ccxt_market_data import CcxtMarketData
from arbitrage.exchanges.ccxt_orders import CcxtMarket, CcxtOrders
from arbitrage.exchanges.client_class import client_class, request_timing
from arbitrage.exchanges.signing import WindowStyle, outside_order_window
from arbitrage.exchanges.urls import original_url_prefixes, override_api_urls
from arbitrage.logging import get_logger
from arbitrage.settings import ExchangeSettings

log = get_logger(__name__)

T = TypeVar("T")

# Who waits first for the request budget when it is short (orders have a budget of their own).
PRIORITIES = {
    "fetch_order": Priority.LOOKUP,
    "fetch_positions": Priority.LOOKUP,
    "fetch_my_trades": Priority.LOOKUP,
    "fetch_funding_payments": Priority.BACKGROUND,
    "load_markets": Priority.BACKGROUND,
    "leverage_tiers": Priority.BACKGROUND,
    "funding_intervals": Priority.BACKGROUND,
    "fetch_time": Priority.BACKGROUND,
    "fetch_time_again": Priority.LOOKUP,  # a request refused for its timestamp waits for this measurement
    "warm_up": Priority.LOOKUP,  # it must be done before the trigger it prepares
    "fetch_balance": Priority.BACKGROUND,
    "fetch_funding_rates": Priority.BACKGROUND,
    "fetch_order_book": Priority.BACKGROUND,
}
# Until the exchange's clock has been measured, its offset is taken to be up to this much either way.
UNMEASURED_CLOCK = ClockOffset(0.0, 1000.0)
# Round trips per clock measurement: the shortest one's midpoint gives the offset.
CLOCK_SAMPLES = 3
# A new measurement that moves the offset by more than this is logged as a change.
CLOCK_CHANGE_LOGGED_MS = 100.0


class CcxtConnector(CcxtOrders, CcxtMarketData, CcxtAccountReads):
    exchange_id: ClassVar[str] = ""
    ccxt_class: ClassVar[type[Any]] = ccxt.Exchange
    ccxt_has: ClassVar[dict[str, Any]] = {}
    ccxt_options: ClassVar[dict[str, Any]] = {}
    # How ccxt's requests for this exchange carry a receive window (signing.py).
    window_style: ClassVar[WindowStyle] = WindowStyle.OPTION
    # Request weights where the exchange documents more than ccxt's cost table says: (ccxt api, path) → weight.
    request_weights: ClassVar[dict[tuple[str, str], int]] = {}
    # Unified funding-rate field holding the NEXT funding time.
    next_funding_field: ClassVar[str] = "fundingTimestamp"
    # Exchange error codes ccxt classifies wrongly: code → the ccxt exception class it really is.
    exact_errors: ClassVar[dict[str, type[Exception]]] = {}

    def __init__(self, settings: ExchangeSettings, *, timeout_seconds: float = 10.0) -> None:
        config: dict[str, Any] = {
            "enableRateLimit": False,  # the account's RequestBudget paces every request instead (client_class.py)
            "timeout": int(timeout_seconds * 1000),
            "options": copy.deepcopy(self.ccxt_options),
        }
        if self.ccxt_has:
            config["has"] = copy.deepcopy(self.ccxt_has)
        for key, secret in (("apiKey", settings.api_key), ("secret", settings.secret), ("password", settings.password)):
            if secret is not None:
                config[key] = secret.get_secret_value()
        self._secrets = settings.secret_values()
        self.taker_fee_override = settings.taker_fee
        self.order_window_ms = settings.order_recv_window_ms
        self.clock_offset: ClockOffset | None = None
        self._clock_lock = asyncio.Lock()
        self._measured_monotonic: float | None = None  # when the last measurement started
        self._server_origin: str | None = None  # where the server-time requests (and the orders) go
        self.client: Any = client_class(self.ccxt_class, self.window_style, self.exchange_id)(config)
        self.budget = RequestBudget(VENUES[self.exchange_id], settings.rate_limit_scale)
        self.client.arbitrage_budget = self.budget
        self.client.arbitrage_weights = self.request_weights
        if self.exact_errors:
            self.client.exceptions["exact"] = {**self.client.exceptions["exact"], **self.exact_errors}
        if settings.sandbox:
            self._enable_sandbox()
        if settings.base_url:
            original = copy.deepcopy(self.client.urls["api"])
            self.client.urls["api"] = override_api_urls(original, settings.base_url)
            self._on_urls_overridden(original_url_prefixes(original, self.client.urls["api"]))
        self._markets_lock = asyncio.Lock()
        self._position_mode: PositionMode | None = None

    # ---- hooks (venue modules override these) -------------------------------------------------------------

    def _enable_sandbox(self) -> None:
        self.client.set_sandbox_mode(True)

    def _on_urls_overridden(self, prefixes: list[tuple[str, str]]) -> None:
        """Called with (overridden, production) URL prefixes after a BASE_URL override."""

    async def _fetch_position_mode(self) -> PositionMode:
        result = await self.client.fetch_position_mode()
        return PositionMode.HEDGE if result.get("hedged") else PositionMode.ONE_WAY

    async def _apply_leverage(self, market: CcxtMarket, leverage: int) -> None:
        await self.client.set_leverage(leverage, market["symbol"])

    async def _leverage_tiers(self, market: CcxtMarket) -> list[LeverageTierInfo]:
        return reports.leverage_tiers(await self.client.fetch_market_leverage_tiers(market["symbol"]))

    async def _all_leverage_tiers(self) -> dict[str, list[LeverageTierInfo]]:
        # binance: one leverageBracket call for every symbol; bybit: risk-limit paged by cursor (ccxt pages it).
        tiers = await self.client.fetch_leverage_tiers()
        return {symbol: reports.leverage_tiers(rows) for symbol, rows in tiers.items()}

    def _single_tiers_of_every_market(self) -> dict[str, list[LeverageTierInfo]]:
        """No request: each market's max leverage as one unbounded tier (venues without usable tier tables)."""
        return {
            market["symbol"]: [LeverageTierInfo(Decimal(0), None, maximum)]
            for market in (self.client.markets or {}).values()
            if reports.is_usdt_perpetual(market) and (maximum := self._max_leverage(market)) is not None
        }

    async def _funding_intervals(self) -> dict[str, int]:
        return {}

    def _max_leverage(self, market: CcxtMarket) -> int | None:
        return reports.ccxt_max_leverage(market)

    def _single_tier(self, market: CcxtMarket) -> list[LeverageTierInfo]:
        """One unbounded tier at the market's max leverage (venues whose tiers carry no usable max leverage)."""
        max_leverage = self._max_leverage(market)
        if max_leverage is None:
            raise ExchangeError(self.exchange_id, "leverage_tiers", f"no max leverage for {market['symbol']}")
        return [LeverageTierInfo(Decimal(0), None, max_leverage)]

    # ---- plumbing -------------------------------------------------------------------------------------------

    async def _once(self, operation: str, call: Callable[[], Awaitable[T]], *, order: bool = False) -> T:
        """One request; one more after re-measuring the clock if the exchange refused its timestamp (a refused
        request was not processed, so an order may go again with the same client id)."""
        started = time.monotonic()
        try:
            return await self._attempt(operation, call, order)
        except ExchangeError as error:
            if error.kind is not ErrorKind.CLOCK or operation in ("fetch_time", "fetch_time_again"):
                raise
            first = error
        log.warning("timestamp_refused", exchange=self.exchange_id, operation=operation, reason=first.reason,
                    offset_ms=self._offset_for_log())
        try:
            with outside_order_window():
                await self._measure_again(started)
        except ExchangeError:
            raise first from None
        try:
            return await self._attempt(operation, call, order)
        except ExchangeError as error:
            if error.kind is not ErrorKind.CLOCK:
                raise
            raise ExchangeError(
                self.exchange_id, operation, f"{error.reason}; refused again after re-measuring the clock "
                f"(offset {self._offset_for_log()} ms)", kind=ErrorKind.CLOCK, hint=error.hint,
                retryable=False) from None

    async def _attempt(self, operation: str, call: Callable[[], Awaitable[T]], order: bool) -> T:
        try:
            with priority(PRIORITIES.get(operation, Priority.PREPARE)):
                return await call()
        except Exception as error:  # every failure leaves here classified; the ccxt text may carry signatures
            raise classify(error, self.exchange_id, operation, order=order, secrets=self._secrets) from None

    async def _read(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_safe(lambda: self._once(operation, call))

    def _market(self, symbol: str) -> CcxtMarket:
        markets = self.client.markets
        if not markets:
            raise ExchangeError(self.exchange_id, "market", "markets are not loaded", kind=ErrorKind.MARKETS_NOT_LOADED)
        market = markets.get(symbol)
        if market is None or not reports.is_usdt_perpetual(market):
            raise ExchangeError(
                self.exchange_id,
                "market",
                f"{symbol} is not a USDT perpetual listed on {self.exchange_id}",
                kind=ErrorKind.UNKNOWN_SYMBOL,
                hint="list the symbols with `arbitrage markets`",
            )
        return dict(market)

    async def _loaded_market(self, symbol: str) -> CcxtMarket:
        await self.load_markets()
        return self._market(symbol)

    async def known_position_mode(self) -> PositionMode:
        return self._position_mode or await self.position_mode()

    # ---- ExchangeConnector ----------------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> None:
        if self.client.markets and not reload:
            return
        async with self._markets_lock:  # concurrent first calls share one load
            if self.client.markets and not reload:
                return
            await self._read("load_markets", lambda: self.client.load_markets(reload))

    def market(self, symbol: str) -> MarketInfo:
        market = self._market(symbol)
        return reports.market_info(self.exchange_id, market, self._max_leverage(market))

    @property
    def markets_loaded(self) -> bool:
        return bool(self.client.markets)

    def markets(self) -> list[MarketInfo]:
        if not self.client.markets:
            raise ExchangeError(self.exchange_id, "markets", "markets are not loaded", kind=ErrorKind.MARKETS_NOT_LOADED)
        return [
            reports.market_info(self.exchange_id, market, self._max_leverage(market))
            for market in self.client.markets.values()
            if reports.is_usdt_perpetual(market)
        ]

    async def position_mode(self) -> PositionMode:
        await self.load_markets()
        mode = await self._read("position_mode", self._fetch_position_mode)
        self._position_mode = mode
        return mode

    async def leverage_tiers(self, symbol: str) -> list[LeverageTierInfo]:
        market = await self._loaded_market(symbol)
        return await self._read("leverage_tiers", lambda: self._leverage_tiers(market))

    async def all_leverage_tiers(self) -> dict[str, list[LeverageTierInfo]]:
        await self.load_markets()
        return await self._read("leverage_tiers", self._all_leverage_tiers)

    async def funding_intervals(self) -> dict[str, int]:
        await self.load_markets()
        return await self._read("funding_intervals", self._funding_intervals)

    async def set_leverage(self, symbol: str, leverage: int) -> None:
        market = await self._loaded_market(symbol)
        try:
            await self._read("set_leverage", lambda: self._apply_leverage(market, leverage))  # idempotent
        except ExchangeError as error:
            if error.retryable or error.kind in (ErrorKind.AUTH, ErrorKind.CLOCK):
                raise
            self._position_mode = None  # bingx leverage depends on the mode: re-read it next time
            raise await self._explain_leverage_rejection(market, leverage, error) from None
        log.info("leverage_set", exchange=self.exchange_id, symbol=symbol, leverage=leverage)

    async def _explain_leverage_rejection(
        self, market: CcxtMarket, leverage: int, error: ExchangeError
    ) -> ExchangeError:
        """Name the cause of a rejected leverage: above the max at the position's notional, or an open position."""
        symbol = market["symbol"]
        reason = f"rejected leverage {leverage} for {symbol}: {error.reason}"
        try:
            positions = await self.fetch_positions(symbol)
        except ExchangeError:
            positions = []
        notional = sum((p.amount * (p.entry_price or Decimal(0)) for p in positions), Decimal(0))
        max_leverage = await self._max_leverage_at(market, notional)
        if max_leverage is not None and leverage > max_leverage:
            hint = f"max is {max_leverage} at this notional; lower --leverage"
            return ExchangeError(self.exchange_id, "set_leverage", reason, kind=ErrorKind.LEVERAGE, hint=hint)
        if positions:
            hint = f"close the open position on {self.exchange_id} first"
            return ExchangeError(self.exchange_id, "set_leverage", reason, kind=ErrorKind.POSITION_OPEN, hint=hint)
        return ExchangeError(self.exchange_id, "set_leverage", reason, kind=error.kind, hint=error.hint)

    async def _max_leverage_at(self, market: CcxtMarket, notional: Decimal) -> int | None:
        try:
            tiers = await self.leverage_tiers(market["symbol"])
        except ExchangeError:
            return self._max_leverage(market)
        for tier in tiers:
            if notional >= tier.notional_floor and (tier.notional_cap is None or notional < tier.notional_cap):
                return tier.max_leverage
        return tiers[-1].max_leverage if tiers else self._max_leverage(market)

    async def fetch_leverage(self, symbol: str) -> LeverageInfo:
        await self._loaded_market(symbol)
        data = await self._read("fetch_leverage", lambda: self.client.fetch_leverage(symbol))
        return LeverageInfo(
            self.exchange_id, symbol, reports.to_int(data.get("longLeverage")), reports.to_int(data.get("shortLeverage"))
        )

    async def fetch_funding_rate(self, symbol: str) -> FundingRateInfo:
        await self._loaded_market(symbol)
        data = await self._read("fetch_funding_rate", lambda: self.client.fetch_funding_rate(symbol))
        rate = reports.dec(data.get("fundingRate"))
        if rate is None:
            raise ExchangeError(self.exchange_id, "fetch_funding_rate", f"no funding rate for {symbol}")
        return FundingRateInfo(
            exchange=self.exchange_id,
            symbol=symbol,
            rate=rate,
            next_funding_time=reports.from_ms(data.get(self.next_funding_field)),
            mark_price=reports.dec(data.get("markPrice")),
            interval_hours=reports.interval_hours(data.get("interval")),
        )

    @property
    def new_connection_seconds(self) -> float | None:
        return self.client.arbitrage_new_connection_seconds  # type: ignore[no-any-return]

    @property
    def clock(self) -> ClockOffset:
        """The offset bound that order windows are judged by: the conservative default until measured."""
        return self.clock_offset or UNMEASURED_CLOCK

    async def measure_clock_offset(self) -> ClockOffset:
        async with self._clock_lock:
            return await self._measure()

    async def _measure_again(self, not_before: float) -> None:
        """Measure again, unless a measurement started after `not_before` (monotonic) already did meanwhile (many
        requests refused at once share one)."""
        async with self._clock_lock:
            if self._measured_monotonic is None or self._measured_monotonic < not_before:
                await self._measure("fetch_time_again")

    async def _measure(self, operation: str = "fetch_time") -> ClockOffset:
        started = time.monotonic()
        samples = [await self._clock_sample(operation) for _ in range(CLOCK_SAMPLES)]
        best = min(samples, key=lambda sample: sample.uncertainty_ms)
        previous, self.clock_offset, self._measured_monotonic = self.clock_offset, best, started
        # ccxt's convention: our clock minus the exchange's; the signed timestamp is ours minus it (`nonce`).
        self.client.options["timeDifference"] = -round(best.offset_ms)
        fields = {"exchange": self.exchange_id, "offset_ms": round(best.offset_ms, 1),
                  "uncertainty_ms": round(best.uncertainty_ms, 1)}
        if previous is None:
            log.info("clock_offset_measured", **fields)
        elif abs(best.offset_ms - previous.offset_ms) > CLOCK_CHANGE_LOGGED_MS:
            log.warning("clock_offset_changed", previous_offset_ms=round(previous.offset_ms, 1), **fields)
        return best

    async def _clock_sample(self, operation: str) -> ClockOffset:
        with request_timing() as timing:
            server_ms = await self._read(operation, self._fetch_server_time)
        self._server_origin = timing.origin or self._server_origin
        received = time.time()
        sent = timing.written_at if timing.written_at is not None else received
        return ClockOffset(float(server_ms) - (sent + received) * 500, (received - sent) * 500,
                           reports.from_ms(int(received * 1000)))

    def _offset_for_log(self) -> float | None:
        return round(self.clock_offset.offset_ms, 1) if self.clock_offset is not None else None

    async def warm_up(self, until: datetime) -> None:
        """Hold one connection of the orders' pool until `until`, then leave it idle for an order (each order of a
        send has its warm-up). The server-time endpoint is on the orders' host on all four exchanges, so its
        origin, known from the clock measurement, is where to connect. Before that, or through a proxy, one cheap
        request instead, which leaves its connection in the orders' pool."""
        origin = self._server_origin
        if origin is not None and not proxied(self.client, origin):
            await hold_order_connection(self.client, origin, until)
            return
        with warming_order_connections():
            await self._once("warm_up", self._fetch_server_time)

    async def _fetch_server_time(self) -> int:
        return int(await self.client.fetch_time())

    async def close(self) -> None:
        await self.client.close()  # ccxt lets TLS connections shut down for 250 ms
