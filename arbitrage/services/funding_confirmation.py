"""After the funding time, poll both legs' funding history until the payments appear or a timeout passes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from arbitrage.exchanges.connector import ExchangeError, FundingPaymentBatch, FundingPaymentReport
from arbitrage.logging import get_logger
from arbitrage.services.leverage_sync import LegVenue

log = get_logger(__name__)

# A payment stamped up to this long before the funding time still belongs to it (exchanges round their stamps).
STAMP_TOLERANCE = timedelta(seconds=60)
# The pause between polls doubles each round, up to this many times the configured interval.
MAX_BACKOFF = 8


async def collect_funding_payments(
    venues: list[LegVenue],
    *,
    opened_at: datetime,
    funding_time: datetime,
    expected: Collection[str],
    timeout_seconds: float,
    poll_interval_seconds: float,
    stop: asyncio.Event | None = None,
) -> dict[str, list[FundingPaymentReport]]:
    """Payments per exchange for this funding event. Returns as soon as every exchange in `expected` reported
    one, or when `timeout_seconds` pass (settlement can be a minute late), or when `stop` is set."""
    earliest = max(opened_at, funding_time - STAMP_TOLERANCE)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    found: dict[str, list[FundingPaymentReport]] = {venue.exchange: [] for venue in venues}
    interval = poll_interval_seconds
    while True:
        waiting = [venue for venue in venues if not found[venue.exchange]]  # a venue that paid is not asked again
        asked = funding_time - STAMP_TOLERANCE  # the same for every subscription of the instant: polls are shared
        polls = await asyncio.gather(*(_poll(venue, asked, poll_interval_seconds / 2) for venue in waiting))
        for venue, payments in zip(waiting, polls, strict=True):
            if payments is not None:
                found[venue.exchange] = [p for p in payments if p.paid_at >= earliest]
        if all(found.get(exchange) for exchange in expected):
            return found
        remaining = deadline - loop.time()
        if remaining <= 0 or (stop is not None and stop.is_set()):
            return found
        await _pause(min(interval, remaining), stop)
        interval = min(interval * 2, poll_interval_seconds * MAX_BACKOFF)


# Every subscription of an instant on one exchange account shares each poll: one request returns every symbol's
# payments, and an answer younger than half the poll interval is reused. A page that was full may miss some
# payments: those symbols are then asked for alone (shared the same way).
_POLLS: dict[tuple[int, str | None, datetime], tuple[float, asyncio.Future[Any]]] = {}


async def _poll(venue: LegVenue, since: datetime, reuse_seconds: float) -> list[FundingPaymentReport] | None:
    connector = venue.connector
    try:
        batch: FundingPaymentBatch = await _shared(
            (id(connector), None, since), lambda: connector.fetch_all_funding_payments(since), reuse_seconds
        )
        payments = [payment for payment in batch.payments if payment.symbol == venue.symbol]
        if payments or batch.complete:
            return payments
        return list(
            await _shared(
                (id(connector), venue.symbol, since),
                lambda: connector.fetch_funding_payments(venue.symbol, since),
                reuse_seconds,
            )
        )
    except ExchangeError as error:
        log.warning("funding_history_unavailable", exchange=venue.exchange, reason=error.user_message)
        return None


async def _shared(
    key: tuple[int, str | None, datetime], fetch: Callable[[], Awaitable[Any]], reuse_seconds: float
) -> Any:
    now = asyncio.get_running_loop().time()
    for old_key, (started, _) in list(_POLLS.items()):
        if now - started > reuse_seconds and _POLLS[old_key][1].done():
            del _POLLS[old_key]
    entry = _POLLS.get(key)
    if entry is None or (entry[1].done() and entry[1].exception() is not None):
        entry = (now, asyncio.ensure_future(fetch()))
        _POLLS[key] = entry
    return await asyncio.shield(entry[1])


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass

