"""A new subscription checked against both exchanges' market metadata (the second step of `arbitrage subscribe`).

From the `symbol_filters` cache where the database already has the row, else from the exchange (its loaded market
and one tier request): the symbol is listed and tradable on both exchanges, the amount meets both minimum
quantities and minimum order values at the current mark price and is rounded to the coarser step, the leverage
fits both caps at that notional (both computed by `entry_plan.plan_entry`, as at the trigger), and the funding time is one of the primary's coming funding instants (without
--funding-time, the next one). Problems are `InputError`s. Rows fetched here are kept in `PendingCatalog.fetched`
and stored only together with an accepted subscription: a refused request writes nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from arbitrage.db import symbol_filters
from arbitrage.db.models import SymbolFilter
from arbitrage.db.session import Database
from arbitrage.domain.errors import LeverageError, SizingError
from arbitrage.domain.funding_schedule import DEFAULT_INTERVAL_HOURS, FundingSchedule, funding_time_problem
from arbitrage.domain.sizing import MarketRules
from arbitrage.domain.subscription_request import InputError, NewSubscription, check_timing
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, FundingRateInfo
from arbitrage.services.entry_plan import EntrySizing, plan_entry
from arbitrage.services.market_refresh import filter_values
from arbitrage.services.markets import leverage_limit, rules_from_filter, tiers_from_filter


@dataclass(frozen=True)
class MarketView:
    """What the later checks need from the markets: both legs' current funding and the price."""

    primary_rate: FundingRateInfo
    hedge_rate: FundingRateInfo
    price: Decimal | None
    primary_schedule: FundingSchedule
    hedge_schedule: FundingSchedule | None


@dataclass(frozen=True)
class CheckedSubscription:
    request: NewSubscription  # amount rounded, funding time resolved
    view: MarketView
    notes: list[str] = field(default_factory=list)


class PendingCatalog:
    """Market rows from the database when it has them, else from the exchange; the fetched ones are not stored."""

    def __init__(self, db: Database | None, connectors: ConnectorRegistry) -> None:
        self._db = db
        self._connectors = connectors
        self.fetched: list[dict[str, Any]] = []
        self._rows: dict[tuple[str, str], SymbolFilter] = {}

    async def symbol_filter(self, exchange: str, symbol: str) -> SymbolFilter:
        key = (exchange, symbol)
        if key not in self._rows:
            row = None
            if self._db is not None:
                async with self._db.unit_of_work() as session:
                    row = await symbol_filters.get_symbol_filter(session, exchange, symbol)
            self._rows[key] = row if row is not None else await self._fetch(exchange, symbol)
        return self._rows[key]

    async def rules(self, exchange: str, symbol: str) -> MarketRules:
        return rules_from_filter(await self.symbol_filter(exchange, symbol))

    async def max_leverage(self, exchange: str, symbol: str, notional: Decimal) -> int:
        row = await self.symbol_filter(exchange, symbol)
        return leverage_limit(exchange, symbol, tiers_from_filter(row), row.max_leverage, notional)

    async def _fetch(self, exchange: str, symbol: str) -> SymbolFilter:
        connector = self._connectors.get(exchange)
        await connector.load_markets()
        market = connector.market(symbol)
        try:
            tiers = await connector.leverage_tiers(symbol)
        except ExchangeError as error:
            if error.kind == "auth":
                raise
            tiers = []  # the market's max leverage stands in, as in the daemon's lookups
        values = filter_values(market, tiers, None)
        self.fetched.append(values)
        return SymbolFilter(**values)


async def store_fetched(session: Any, catalog: PendingCatalog, now: datetime) -> None:
    if catalog.fetched:
        await symbol_filters.upsert_symbol_filters(session, catalog.fetched, now=now)


async def check_against_markets(
    catalog: PendingCatalog, connectors: ConnectorRegistry, request: NewSubscription, *, default_leverage: int,
    now: datetime, symbol_options: tuple[str, str] = ("--symbol", "--symbol"), force: bool = False,
) -> CheckedSubscription:
    legs = ((request.primary_exchange, request.primary_symbol), (request.hedge_exchange, request.hedge_symbol))
    rows = [await _listed_row(catalog, exchange, symbol, option)
            for (exchange, symbol), option in zip(legs, symbol_options, strict=True)]
    primary_rate, hedge_rate = await asyncio.gather(
        *(connectors.get(exchange).fetch_funding_rate(symbol) for exchange, symbol in legs)
    )
    try:
        sizing = await plan_entry(catalog, request, primary_rate, hedge_rate, default_leverage)
    except (SizingError, LeverageError) as error:
        raise InputError("--amount", error.user_message) from None
    notes = _sizing_notes(request, sizing)
    primary_schedule = _schedule(primary_rate, rows[0])
    funding_time = request.funding_time
    if funding_time is None:
        funding_time = primary_schedule.next_funding
        notes.append(_funding_note(funding_time, primary_rate, hedge_rate))
        try:
            check_timing(funding_time, request.lead_seconds, now)
        except InputError as error:
            raise InputError("--funding-time", f"{error.problem} (the next funding on {primary_rate.exchange}); "
                                               "pass --funding-time") from None
    else:
        problem = funding_time_problem(primary_schedule, funding_time, force=force)
        if problem is not None:
            raise InputError("--funding-time", problem)
    view = MarketView(primary_rate, hedge_rate, sizing.price, primary_schedule,
                      _optional_schedule(hedge_rate, rows[1]))
    return CheckedSubscription(replace(request, amount=sizing.amount, funding_time=funding_time), view, notes)


async def _listed_row(catalog: PendingCatalog, exchange: str, symbol: str, option: str) -> SymbolFilter:
    try:
        row = await catalog.symbol_filter(exchange, symbol)
    except ExchangeError as error:
        if error.kind != "unknown_symbol":
            raise
        raise InputError(option, f"{symbol} is not listed on {exchange}") from None
    if row.delisted_at is not None:
        raise InputError(option, f"{symbol} is delisted on {exchange} (since {row.delisted_at.isoformat()})")
    return row


def _sizing_notes(request: NewSubscription, sizing: EntrySizing) -> list[str]:
    notes: list[str] = []
    sized, resolution = sizing.sized, sizing.leverage
    if sized.changed:
        notes.append(
            f"amount {request.amount} rounded down to {sized.amount} (the step both {request.primary_exchange} "
            f"and {request.hedge_exchange} accept is {sized.step})"
        )
    if resolution.capped:
        notes.append(f"{resolution.reason} at {sizing.notional.normalize():f} USDT notional; the daemon applies it "
                     "at the trigger")
    elif request.leverage == "max":
        notes.append(f"{resolution.reason} at today's notional; resolved again at the trigger")
    return notes


def _optional_schedule(rate: FundingRateInfo, row: SymbolFilter) -> FundingSchedule | None:
    return _schedule(rate, row) if rate.next_funding_time is not None else None


def _schedule(rate: FundingRateInfo, row: SymbolFilter) -> FundingSchedule:
    """The interval as the exchange reports it now (Bybit changes it), else the cached one, else the default."""
    if rate.next_funding_time is None:
        raise InputError("--funding-time", f"{rate.exchange} reports no next funding time for {rate.symbol}")
    interval = rate.interval_hours or row.funding_interval_hours or DEFAULT_INTERVAL_HOURS.get(rate.exchange)
    return FundingSchedule(rate.exchange, rate.symbol, rate.next_funding_time, interval)


def _funding_note(funding_time: datetime, primary: FundingRateInfo, hedge: FundingRateInfo) -> str:
    hedge_time = hedge.next_funding_time.isoformat() if hedge.next_funding_time else "unknown"
    return (
        f"funding time {funding_time.isoformat()} (next funding on {primary.exchange}); "
        f"{hedge.exchange}'s next funding: {hedge_time}"
    )
