"""`arbitrage subscribe`, second step: the request checked against both exchanges' market metadata.

From the `symbol_filters` cache (a missing symbol is fetched from its exchange once and stored, like the daemon's
lookups): the symbol is listed and tradable on both exchanges, the amount meets both minimum quantities and minimum
order values at the current mark price and is rounded to the coarser step, and the leverage fits both caps at
that notional. Without --funding-time the primary's next funding time is used. Problems are `InputError`s.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from arbitrage.cli_validation import InputError, NewSubscription, check_timing
from arbitrage.db.models import SymbolFilter
from arbitrage.db.session import Database
from arbitrage.domain.errors import LeverageError, SizingError
from arbitrage.domain.leverage import resolve_leverage
from arbitrage.domain.sizing import round_amount_to_both
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, FundingRateInfo
from arbitrage.exchanges.factory import build_connector
from arbitrage.services.markets import CachedMarketCatalog, rules_from_filter
from arbitrage.settings import Settings


@dataclass(frozen=True)
class CheckedSubscription:
    request: NewSubscription  # amount rounded, funding time resolved
    notes: list[str] = field(default_factory=list)


def connectors_for(settings: Settings, exchanges: list[str]) -> ConnectorRegistry:
    """Connectors for the subscription's exchanges; a clear error for one that is not configured."""
    registry = ConnectorRegistry()
    for exchange in exchanges:
        if exchange not in settings.configured_exchanges:
            option = "--primary" if exchange == exchanges[0] else "--hedge"
            raise InputError(
                option,
                f"{exchange} is not configured: set ARBITRAGE_EXCHANGES__{exchange.upper()}__API_KEY and __SECRET "
                "(subscribe checks the symbol, amount and leverage against the exchange's markets)",
            )
        # A handful of requests per command: ccxt's client-side throttle would only add pauses (MEXC's
        # contract/detail costs 100 units, i.e. a 5 s wait before the next call).
        registry.connectors[exchange] = build_connector(settings, exchange, enable_rate_limit=False)
    return registry


async def check_against_markets(
    settings: Settings, db: Database, connectors: ConnectorRegistry, request: NewSubscription, *, now: datetime,
    symbol_options: tuple[str, str] = ("--symbol", "--symbol"),
) -> CheckedSubscription:
    catalog = CachedMarketCatalog(db, connectors)
    legs = ((request.primary_exchange, request.primary_symbol), (request.hedge_exchange, request.hedge_symbol))
    rows = [await _listed_row(catalog, exchange, symbol, option)
            for (exchange, symbol), option in zip(legs, symbol_options, strict=True)]
    primary_rate, hedge_rate = await asyncio.gather(
        *(connectors.get(exchange).fetch_funding_rate(symbol) for exchange, symbol in legs)
    )
    price = primary_rate.mark_price or hedge_rate.mark_price
    notes: list[str] = []
    try:
        sized = round_amount_to_both(request.amount, rules_from_filter(rows[0]), rules_from_filter(rows[1]), price)
    except SizingError as error:
        raise InputError("--amount", error.user_message) from None
    if sized.changed:
        notes.append(
            f"amount {request.amount} rounded down to {sized.amount} (the step both {request.primary_exchange} "
            f"and {request.hedge_exchange} accept is {sized.step})"
        )
    notes.extend(await _leverage_notes(settings, catalog, request, sized.amount * price if price else Decimal(0)))
    funding_time = request.funding_time
    if funding_time is None:
        funding_time = _next_funding(primary_rate)
        notes.append(_funding_note(funding_time, primary_rate, hedge_rate))
        try:
            check_timing(funding_time, request.lead_seconds, now)
        except InputError as error:
            raise InputError("--funding-time", f"{error.problem} (the next funding on {primary_rate.exchange}); "
                                               "pass --funding-time") from None
    return CheckedSubscription(replace(request, amount=sized.amount, funding_time=funding_time), notes)


async def _listed_row(catalog: CachedMarketCatalog, exchange: str, symbol: str, option: str) -> SymbolFilter:
    try:
        row = await catalog.symbol_filter(exchange, symbol)
    except ExchangeError as error:
        if error.kind != "unknown_symbol":
            raise
        raise InputError(option, f"{symbol} is not listed on {exchange}") from None
    if row.delisted_at is not None:
        raise InputError(option, f"{symbol} is delisted on {exchange} (since {row.delisted_at.isoformat()})")
    return row


async def _leverage_notes(
    settings: Settings, catalog: CachedMarketCatalog, request: NewSubscription, notional: Decimal
) -> list[str]:
    try:
        primary_max, hedge_max = [
            await catalog.max_leverage(exchange, symbol, notional)
            for exchange, symbol in ((request.primary_exchange, request.primary_symbol),
                                     (request.hedge_exchange, request.hedge_symbol))
        ]
        resolution = resolve_leverage(request.leverage, settings.default_leverage, primary_max, hedge_max,
                                      request.primary_exchange, request.hedge_exchange)
    except LeverageError as error:
        raise InputError("--amount", error.user_message) from None
    if resolution.capped:
        return [f"{resolution.reason} at {notional.normalize():f} USDT notional; the daemon applies it at the trigger"]
    if request.leverage == "max":
        return [f"{resolution.reason} at today's notional; resolved again at the trigger"]
    return []


def _next_funding(rate: FundingRateInfo) -> datetime:
    if rate.next_funding_time is None:
        raise InputError("--funding-time", f"required: {rate.exchange} reports no next funding time for {rate.symbol}")
    return rate.next_funding_time


def _funding_note(funding_time: datetime, primary: FundingRateInfo, hedge: FundingRateInfo) -> str:
    hedge_time = hedge.next_funding_time.isoformat() if hedge.next_funding_time else "unknown"
    return (
        f"funding time {funding_time.isoformat()} (next funding on {primary.exchange}); "
        f"{hedge.exchange}'s next funding: {hedge_time}"
    )
