"""After the funding time, poll both legs' funding history until the payments appear or a timeout passes."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime, timedelta

from arbitrage.exchanges.connector import ExchangeError, FundingPaymentReport
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
        for venue, payments in zip(waiting, await asyncio.gather(*(_poll(v, asked) for v in waiting)), strict=True):
            if payments is not None:
                found[venue.exchange] = [p for p in payments if p.paid_at >= earliest]
        if all(found.get(exchange) for exchange in expected):
            return found
        remaining = deadline - loop.time()
        if remaining <= 0 or (stop is not None and stop.is_set()):
            return found
        await _pause(min(interval, remaining), stop)
        interval = min(interval * 2, poll_interval_seconds * MAX_BACKOFF)


# Subscriptions on the same exchange and symbol settle at the same instant: one request answers all of them.
_IN_FLIGHT: dict[tuple[int, str, datetime], asyncio.Future[list[FundingPaymentReport]]] = {}


async def _poll(venue: LegVenue, since: datetime) -> list[FundingPaymentReport] | None:
    key = (id(venue.connector), venue.symbol, since)
    try:
        shared = _IN_FLIGHT.get(key)
        if shared is None:
            shared = asyncio.ensure_future(venue.connector.fetch_funding_payments(venue.symbol, since))
            _IN_FLIGHT[key] = shared
            shared.add_done_callback(lambda _: _IN_FLIGHT.pop(key, None))
        return list(await asyncio.shield(shared))
    except ExchangeError as error:
        log.warning("funding_history_unavailable", exchange=venue.exchange, reason=error.user_message)
        return None


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass

