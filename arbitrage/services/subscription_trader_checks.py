"""What a trader checks before committing to a funding capture (the third step of `arbitrage subscribe`).

- The credentials work: one cheap signed call (the futures balance) per exchange. On MEXC that proves the key can
  read the futures account, not that it may trade: MEXC answers no read request with that, and disables futures
  orders through the API for most accounts, so this is said plainly on every MEXC subscription.
- The primary's current rate pays our side: refused (the daemon would skip it unless the rate turns), `--force`
  overrides.
- The expected net at current rates (funding on both legs at that instant, four taker fees, the spread crossing
  both order books' top levels to open and close) is printed; a loss is a warning, not a refusal: rates move until
  the funding time and the fee rates are the standard tier's unless TAKER_FEE says otherwise.
- An identical live subscription (same legs, side and funding time) is refused; `--force` adds another.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal

from arbitrage.db import repository as repo
from arbitrage.db.session import Database
from arbitrage.domain.funding import side_receipt_rate
from arbitrage.domain.status import IN_PROGRESS
from arbitrage.domain.subscription_request import InputError, NewSubscription
from arbitrage.domain.trade_estimate import DEFAULT_TAKER_FEE, describe, estimate_capture, round_trip_spread
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, OrderBookTop
from arbitrage.services.subscription_market_checks import MarketView


class CredentialsRejected(Exception):
    """An exchange refused the configured key: a setting to fix (exit 2)."""


@dataclass
class Findings:
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def check_credentials(connectors: ConnectorRegistry, exchanges: list[str]) -> list[str]:
    """One signed read per exchange, concurrently; raises `CredentialsRejected` naming the exchange. Returns
    warnings (MEXC's futures API permission cannot be read)."""

    async def probe(exchange: str) -> None:
        try:
            await connectors.get(exchange).fetch_balance()
        except ExchangeError as error:
            if error.kind != "auth":
                raise
            variable = f"ARBITRAGE_EXCHANGES__{exchange.upper()}"
            raise CredentialsRejected(
                f"{exchange} rejected the API credentials ({error.reason}); check {variable}__API_KEY and "
                f"{variable}__SECRET"
            ) from None

    await asyncio.gather(*(probe(exchange) for exchange in exchanges))
    if "mexc" in exchanges:
        return [
            "mexc: the API key reads the futures account, but MEXC tells no API client whether it may place futures "
            "orders (it disables that for most accounts); if it is not enabled for this key, the orders fail at the "
            "trigger, so confirm it with MEXC"
        ]
    return []


def taker_fee_rate(connectors: ConnectorRegistry, exchange: str, symbol: str) -> tuple[Decimal, bool]:
    """The symbol's taker fee rate and whether it came from the exchange (else the venue's standard rate)."""
    reader = getattr(connectors.get(exchange), "taker_fee_rate", None)
    if callable(reader):
        rate = reader(symbol)
        if isinstance(rate, Decimal):
            return rate, True
    return DEFAULT_TAKER_FEE[exchange], False


@dataclass(frozen=True)
class SpreadEstimate:
    cost: Decimal | None  # + paid by both legs opening and closing; None: not estimated
    problem: str | None = None


async def estimate_spread(connectors: ConnectorRegistry, request: NewSubscription, levels: int) -> SpreadEstimate:
    """Both legs' books read concurrently; the amount crossed through the top `levels` to open and to close."""
    legs = ((request.primary_exchange, request.primary_symbol), (request.hedge_exchange, request.hedge_symbol))
    books = await asyncio.gather(
        *(connectors.get(exchange).fetch_order_book(symbol, levels) for exchange, symbol in legs),
        return_exceptions=True,
    )
    total = Decimal(0)
    for (exchange, symbol), book in zip(legs, books, strict=True):
        if isinstance(book, ExchangeError):
            return SpreadEstimate(None, f"{exchange}'s order book could not be read: {book.reason}")
        if isinstance(book, BaseException):
            raise book
        assert isinstance(book, OrderBookTop)
        spread = round_trip_spread(book.bids, book.asks, request.amount)
        if spread is None:
            return SpreadEstimate(None, f"{exchange}'s order book for {symbol} is empty")
        cost, short = spread
        if short > 0:
            return SpreadEstimate(None, f"{exchange}'s top {levels} levels hold less than {request.amount} "
                                        f"{symbol.split('/')[0]}")
        total += cost
    return SpreadEstimate(total)


def check_economics(
    request: NewSubscription, view: MarketView, connectors: ConnectorRegistry, *, force: bool,
    spread: SpreadEstimate | None = None,
) -> Findings:
    findings = Findings()
    assert request.funding_time is not None
    receipt = side_receipt_rate(request.side, view.primary_rate.rate)
    side = str(request.side).lower()
    if receipt < 0:
        problem = (f"{side} pays funding on {request.primary_exchange} at the current rate "
                   f"{_percent(view.primary_rate.rate)} (the daemon skips it unless the rate turns by then)")
        if not force:
            raise InputError("--side", f"{problem}; choose the other side, or pass --force")
        findings.warnings.append(problem)
    elif receipt == 0:
        findings.warnings.append(f"{side} earns nothing on {request.primary_exchange} at the current rate 0; "
                                 "the daemon skips it unless the rate turns")
    if view.price is None:
        findings.warnings.append("no mark price from either exchange: expected net not estimated")
        return findings
    hedge_same_instant = (
        view.hedge_schedule is not None and view.hedge_schedule.instants_ahead(request.funding_time) is not None
    )
    primary_fee, primary_known = taker_fee_rate(connectors, request.primary_exchange, request.primary_symbol)
    hedge_fee, hedge_known = taker_fee_rate(connectors, request.hedge_exchange, request.hedge_symbol)
    estimate = estimate_capture(
        request.side, request.amount, view.price, view.primary_rate.rate,
        view.hedge_rate.rate if hedge_same_instant else None, primary_fee, hedge_fee,
        spread.cost if spread is not None else None,
    )
    line = describe(estimate, request.primary_exchange, request.hedge_exchange,
                    spread.problem if spread is not None else None)
    if not (primary_known and hedge_known):
        line += "; fee rates are the venues' standard taker rates"
    (findings.warnings if estimate.net < 0 else findings.notes).append(line)
    return findings


async def check_duplicate(db: Database | None, request: NewSubscription, *, force: bool) -> list[str]:
    """Refuses (or with --force, warns about) a live subscription for the same legs, side and funding time."""
    if db is None:
        return []
    async with db.unit_of_work() as session:
        live = await repo.list_subscriptions(session, IN_PROGRESS)
    same = [
        s for s in live
        if (s.primary_exchange, s.primary_symbol, s.hedge_exchange, s.hedge_symbol, s.side, s.funding_time)
        == (request.primary_exchange, request.primary_symbol, request.hedge_exchange, request.hedge_symbol,
            request.side, request.funding_time)
    ]
    if not same:
        return []
    ids = ", ".join(f"{s.id} ({s.status})" for s in same)
    problem = f"an identical subscription exists: {ids}, same legs, side and funding time"
    if not force:
        raise InputError("--funding-time", f"{problem}; pass --force to add another")
    return [f"{problem}; adding another (--force)"]


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"
