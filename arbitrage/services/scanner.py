"""The funding scanner: every symbol listed on two or more exchanges, every ordered pair with the side its primary's
rate pays, ranked by what one subscription should earn at the next instant at current rates (`arbitrage scan`,
auto-subscribe).

Requests per scan: one funding-rate read per exchange for every symbol (plus Binance's fundingInfo for the
intervals, and on MEXC one funding_rate/{symbol} per symbol whose collectCycle is not cached yet, or whose leg is
among the best candidates'), then the order books of the best candidates' legs, at most `scan_max_order_books`.

Where each leg's schedule comes from, freshest first: the rate answer itself (Bybit's ticker fundingIntervalHour,
BingX's fundingIntervalHours, every venue's next funding time but MEXC's), Binance's fundingInfo (symbols absent
from it settle every 8 h), the `symbol_filters` cache, MEXC's funding_rate/{symbol} on a cache miss. MEXC's
ticker has no next settle time: it is first taken as the next boundary of the symbol's interval on the UTC day
(MEXC settles at 00:00, 08:00 and 16:00 UTC on 8 h contracts); the MEXC legs of the candidates worth an order book
are then read one by one (nextSettleTime, collectCycle) and the ranking redone if one moved.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from arbitrage.domain import Side
from arbitrage.domain.errors import LeverageError, SizingError
from arbitrage.domain.funding import funding_favours_side
from arbitrage.domain.funding_schedule import DEFAULT_INTERVAL_HOURS, FundingSchedule
from arbitrage.domain.leverage import LeverageRequest
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.sizing import common_step
from arbitrage.domain.trade_estimate import DEFAULT_TAKER_FEE, estimate_capture, round_trip_spread
from arbitrage.exchanges.connector import ConnectorRegistry, ErrorKind, ExchangeError, FundingRateInfo, OrderBookTop
from arbitrage.logging import get_logger
from arbitrage.services.entry_plan import plan_entry
from arbitrage.services.markets import MarketCatalog
from arbitrage.services.scan_catalog import IntervalCache
from arbitrage.settings import Settings

log = get_logger(__name__)
FALLBACK_INTERVAL_HOURS = 8


@dataclass(frozen=True)
class Leg:
    """One exchange's view of a symbol for this scan."""

    rate: FundingRateInfo
    next_funding: datetime | None
    interval_hours: int | None
    assumed: bool = False  # the next funding is the interval's next UTC boundary, not a time the exchange gave

    @property
    def exchange(self) -> str:
        return self.rate.exchange

    @property
    def schedule(self) -> FundingSchedule | None:
        if self.next_funding is None:
            return None
        return FundingSchedule(self.exchange, self.rate.symbol, self.next_funding, self.interval_hours)


@dataclass(frozen=True)
class _Candidate:
    primary: Leg
    hedge: Leg
    side: Side


@dataclass(frozen=True)
class _EntryRequest:
    primary_exchange: str
    primary_symbol: str
    hedge_exchange: str
    hedge_symbol: str
    amount: Decimal
    leverage: LeverageRequest | None = None


async def scan_opportunities(
    connectors: ConnectorRegistry,
    markets: MarketCatalog,
    settings: Settings,
    *,
    notional_usdt: Decimal,
    exchanges: Sequence[str] | None = None,
    now: datetime | None = None,
    problems: list[str] | None = None,
) -> list[Opportunity]:
    """Every candidate subscription across `exchanges` (default: every configured connector), sorted by
    `net_usdt` descending: each symbol listed on two or more of them, each ordered pair, the side the primary's
    current rate pays (at least ARBITRAGE_MIN_FUNDING_RATE; the other side is the mirrored pair).

    One funding-rate request per exchange (all symbols), one order-book read per leg considered. A candidate
    that would fail a market rule (listing, minimum notional or quantity, leverage tier at `notional_usdt`) is
    kept with `blocked_reason` set; callers filter those out when they only want subscribable rows. An exchange
    whose rates cannot be read is left out and described in `problems` (when given); if none can be read, the
    first error is raised.
    """
    if notional_usdt <= 0:
        raise ValueError("notional_usdt must be positive")
    now = now or datetime.now(UTC)
    wanted = list(exchanges) if exchanges is not None else sorted(connectors.connectors)
    results = await asyncio.gather(
        *(_legs_of(connectors, markets, exchange, now) for exchange in wanted), return_exceptions=True
    )
    legs: dict[str, dict[str, Leg]] = {}
    errors: list[ExchangeError] = []
    for exchange, result in zip(wanted, results, strict=True):
        if isinstance(result, ExchangeError):
            errors.append(result)
            log.warning("scan_exchange_failed", exchange=exchange, error=result.user_message)
            if problems is not None:
                problems.append(f"{exchange} left out: {result.user_message}")
        elif isinstance(result, BaseException):
            raise result
        else:
            legs[exchange] = result
    if errors and not legs:
        raise errors[0]
    await _fill_missing_schedules(connectors, markets, legs)
    ranked = await _ranked(legs, connectors, markets, settings, notional_usdt)
    # The legs whose next funding was assumed (MEXC's, from the cached collectCycle) among those worth a book: read
    # their schedule now (an interval may have changed since it was cached) and rank again if one moved.
    assumed = [(exchange, symbol) for exchange, symbol in _book_legs(ranked, settings.scan_max_order_books)
               if legs[exchange][symbol].assumed]
    if await _read_schedules(connectors, markets, legs, assumed):
        ranked = await _ranked(legs, connectors, markets, settings, notional_usdt)
    ranked = await _with_spreads(ranked, connectors, settings)
    return sorted(ranked, key=lambda row: (row.net_usdt, row.spread_known), reverse=True)


# ---- rates and schedules ---------------------------------------------------------------------------------------

async def _legs_of(connectors: ConnectorRegistry, markets: MarketCatalog, exchange: str,
                   now: datetime) -> dict[str, Leg]:
    connector = connectors.get(exchange)
    rates = await connector.fetch_funding_rates()
    fresh: dict[str, int] = {s: r.interval_hours for s, r in rates.items() if r.interval_hours}
    if len(fresh) < len(rates):
        fresh = {**await connector.funding_intervals(), **fresh}  # Binance: fundingInfo; MEXC: nothing (no request)
    cached = await markets.cached_intervals(exchange) if isinstance(markets, IntervalCache) else {}
    if isinstance(markets, IntervalCache):
        await markets.remember_intervals(exchange, {s: h for s, h in fresh.items() if cached.get(s) != h})
    legs = {}
    for symbol, rate in rates.items():
        hours = fresh.get(symbol) or cached.get(symbol)
        next_funding = rate.next_funding_time or (_next_on_utc_grid(now, hours) if hours else None)
        legs[symbol] = Leg(rate, next_funding, hours, assumed=rate.next_funding_time is None)
    return legs


async def _ranked(legs: dict[str, dict[str, Leg]], connectors: ConnectorRegistry, markets: MarketCatalog,
                  settings: Settings, notional_usdt: Decimal) -> list[Opportunity]:
    candidates = _candidates(legs, max(settings.min_funding_rate, Decimal(0)))
    rows = await asyncio.gather(*(_evaluate(c, connectors, markets, settings, notional_usdt) for c in candidates))
    return sorted(rows, key=lambda row: row.net_usdt, reverse=True)


async def _fill_missing_schedules(connectors: ConnectorRegistry, markets: MarketCatalog,
                                  legs: dict[str, dict[str, Leg]]) -> None:
    """MEXC symbols shared with another exchange whose collectCycle is not cached: read it (and the next settle
    time) once per symbol, and cache it."""
    listed_on = _listing_counts(legs)
    missing = [(exchange, symbol) for exchange, by_symbol in legs.items() for symbol, leg in by_symbol.items()
               if leg.interval_hours is None and listed_on[symbol] > 1]
    await _read_schedules(connectors, markets, legs, missing)


async def _read_schedules(connectors: ConnectorRegistry, markets: MarketCatalog, legs: dict[str, dict[str, Leg]],
                          wanted: list[tuple[str, str]]) -> bool:
    """Each leg's own funding-rate read (interval and next funding time), concurrently; the intervals learned are
    cached. Returns whether any leg's schedule changed."""
    read = await asyncio.gather(
        *(connectors.get(exchange).fetch_funding_rate(symbol) for exchange, symbol in wanted), return_exceptions=True
    )
    changed = False
    learned: dict[str, dict[str, int]] = {}
    for (exchange, symbol), rate in zip(wanted, read, strict=True):
        if isinstance(rate, BaseException):
            if not isinstance(rate, ExchangeError):
                raise rate
            log.warning("scan_schedule_unread", exchange=exchange, symbol=symbol, error=rate.user_message)
            continue
        old = legs[exchange][symbol]
        hours = rate.interval_hours or old.interval_hours
        if rate.interval_hours:
            learned.setdefault(exchange, {})[symbol] = rate.interval_hours
        new = Leg(old.rate, rate.next_funding_time or old.next_funding, hours,
                  assumed=rate.next_funding_time is None and old.assumed)
        changed = changed or (new.next_funding, new.interval_hours) != (old.next_funding, old.interval_hours)
        legs[exchange][symbol] = new
    if isinstance(markets, IntervalCache):
        for exchange, intervals in learned.items():
            await markets.remember_intervals(exchange, intervals)
    return changed


def _next_on_utc_grid(now: datetime, hours: int) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    periods = (now - day) // timedelta(hours=hours) + 1
    return day + periods * timedelta(hours=hours)


def _listing_counts(legs: dict[str, dict[str, Leg]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for by_symbol in legs.values():
        for symbol in by_symbol:
            counts[symbol] = counts.get(symbol, 0) + 1
    return counts


def _candidates(legs: dict[str, dict[str, Leg]], min_rate: Decimal) -> list[_Candidate]:
    """Every ordered pair listing the symbol, with the side the primary's current rate pays (the daemon skips a
    side that pays or earns less than ARBITRAGE_MIN_FUNDING_RATE at the trigger, and subscribe refuses it): the
    other side is the mirrored pair, not a subscription of its own."""
    found = []
    for primary, hedge in itertools.permutations(sorted(legs), 2):
        for symbol in sorted(legs[primary].keys() & legs[hedge].keys()):
            p, h = legs[primary][symbol], legs[hedge][symbol]
            if p.next_funding is None:
                continue
            found.extend(_Candidate(p, h, side) for side in (Side.SHORT, Side.LONG)
                         if funding_favours_side(p.rate.rate, side, min_rate))
    return found


# ---- one candidate ---------------------------------------------------------------------------------------------

async def _evaluate(candidate: _Candidate, connectors: ConnectorRegistry, markets: MarketCatalog,
                    settings: Settings, notional_usdt: Decimal) -> Opportunity:
    primary, hedge, symbol = candidate.primary, candidate.hedge, candidate.primary.rate.symbol
    price = primary.rate.mark_price or hedge.rate.mark_price
    blocked: str | None = None
    amount = notional_usdt / price if price else Decimal(0)
    if price is None:
        blocked = "no mark price on either exchange"
    else:
        try:
            amount = await _on_common_step(markets, primary.exchange, hedge.exchange, symbol, amount)
            request = _EntryRequest(primary.exchange, symbol, hedge.exchange, symbol, amount)
            sizing = await plan_entry(markets, request, primary.rate, hedge.rate, settings.default_leverage)
            amount = sizing.amount
        except (SizingError, LeverageError) as error:
            blocked = _notional_terms(error.user_message, symbol, price)
        except ExchangeError as error:
            if error.kind not in (ErrorKind.UNKNOWN_SYMBOL, ErrorKind.MARKETS_NOT_LOADED):
                raise
            blocked = error.reason
    primary_fee = _fee_rate(connectors, primary.exchange, symbol)
    hedge_fee = _fee_rate(connectors, hedge.exchange, symbol)
    funding_time = primary.next_funding
    assert funding_time is not None  # candidates have one
    hedge_schedule = hedge.schedule
    same_instant = hedge_schedule is not None and hedge_schedule.instants_ahead(funding_time) is not None
    estimate = estimate_capture(candidate.side, amount, price or Decimal(0), primary.rate.rate,
                                hedge.rate.rate if same_instant else None, primary_fee, hedge_fee)
    return Opportunity(
        symbol=symbol,
        primary=primary.exchange,
        hedge=hedge.exchange,
        side=candidate.side,
        funding_time=funding_time,
        notional_usdt=estimate.notional if estimate.notional else notional_usdt,
        primary_rate=primary.rate.rate,
        hedge_rate=hedge.rate.rate if same_instant else None,
        primary_interval_hours=_hours(primary),
        hedge_interval_hours=_hours(hedge),
        funding_usdt=estimate.funding,
        fees_usdt=estimate.fees,
        spread_usdt=Decimal(0),
        blocked_reason=blocked,
        amount=amount,
        spread_known=False,
        primary_fee_rate=primary_fee,
        hedge_fee_rate=hedge_fee,
    )


async def _on_common_step(markets: MarketCatalog, primary: str, hedge: str, symbol: str, amount: Decimal) -> Decimal:
    """The notional's amount rounded down to the step both exchanges accept (at least one step, so that a too
    small notional is refused by the minimums with their own numbers)."""
    step = common_step(await markets.rules(primary, symbol), await markets.rules(hedge, symbol))
    return max((amount // step) * step, step)


_RAISE_AMOUNT = re.compile(r"raise --amount to at least ([0-9.]+)")


def _notional_terms(message: str, symbol: str, price: Decimal) -> str:
    """Sizing messages speak of --amount (base units); a scan is asked for a notional."""
    def notional(match: re.Match[str]) -> str:
        amount = Decimal(match.group(1))
        return (f"needs at least {match.group(1)} {symbol.split('/')[0]} "
                f"(--notional-usdt {(amount * price).quantize(Decimal(1), ROUND_CEILING)})")

    return _RAISE_AMOUNT.sub(notional, message).replace("lower --amount", "lower --notional-usdt")


def _hours(leg: Leg) -> int:
    return leg.interval_hours or DEFAULT_INTERVAL_HOURS.get(leg.exchange) or FALLBACK_INTERVAL_HOURS


def _fee_rate(connectors: ConnectorRegistry, exchange: str, symbol: str) -> Decimal:
    rate = connectors.get(exchange).taker_fee_rate(symbol)
    return rate if rate is not None else DEFAULT_TAKER_FEE[exchange]


# ---- spreads ---------------------------------------------------------------------------------------------------

async def _with_spreads(ranked: list[Opportunity], connectors: ConnectorRegistry,
                        settings: Settings) -> list[Opportunity]:
    """The books of the best rows' legs (a spread only lowers the net: rows already at a loss before it are left
    unknown once the budget is spent), then every row whose two books were read gets its spread."""
    wanted = _book_legs(ranked, settings.scan_max_order_books)
    books = await asyncio.gather(
        *(connectors.get(exchange).fetch_order_book(symbol, settings.scan_book_levels) for exchange, symbol in wanted),
        return_exceptions=True,
    )
    read: dict[tuple[str, str], OrderBookTop | str] = {}
    for leg, book in zip(wanted, books, strict=True):
        if isinstance(book, ExchangeError):
            read[leg] = book.user_message
        elif isinstance(book, BaseException):
            raise book
        else:
            read[leg] = book
    return [_spread_row(row, read, settings.scan_book_levels) for row in ranked]


def _book_legs(ranked: list[Opportunity], limit: int) -> list[tuple[str, str]]:
    """(exchange, symbol) of the best rows' legs, at most `limit`; blocked rows cannot be subscribed and are
    passed over (their spread is not worth a request)."""
    wanted: list[tuple[str, str]] = []
    for row in ranked:
        if row.blocked_reason or row.amount is None or row.amount <= 0:
            continue
        for leg in ((row.primary, row.symbol), (row.hedge, row.symbol)):
            if leg not in wanted and len(wanted) < limit:
                wanted.append(leg)
    return wanted


def _spread_row(row: Opportunity, books: dict[tuple[str, str], OrderBookTop | str], levels: int) -> Opportunity:
    if row.blocked_reason or row.amount is None or row.amount <= 0:
        return row
    total = Decimal(0)
    blocked = row.blocked_reason
    for exchange in (row.primary, row.hedge):
        book = books.get((exchange, row.symbol))
        if not isinstance(book, OrderBookTop):
            return row  # not read (budget) or unreadable: spread unknown
        spread = round_trip_spread(book.bids, book.asks, row.amount)
        if spread is None:
            blocked = blocked or f"{exchange}'s order book for {row.symbol} is empty"
            return replace(row, blocked_reason=blocked)
        cost, short = spread
        total += cost
        if short > 0 and blocked is None:
            blocked = (f"{exchange}'s top {levels} book levels hold less than the amount "
                       f"{row.amount.normalize():f} (short by {short.normalize():f})")
    return replace(row, spread_usdt=total, spread_known=True, blocked_reason=blocked)
