"""Each exchange's clock offset, measured from its server-time endpoint at start and every
ARBITRAGE_CLOCK_CHECK_MINUTES, and what follows from it.

Each connector keeps its last measurement (`connector.clock_offset`) and signs every request with a timestamp
corrected by it. Funding instants, entry cutoffs and order deadlines are instants on the EXCHANGE's clock: the
pipeline's timing (`PipelineConfig`) turns them into instants on ours with `offset_seconds` (an exchange 3 s ahead
reaches T 3 s before we do). Nothing opens while an exchange's offset is unknown or larger than
ARBITRAGE_MAX_CLOCK_SKEW_MS (`clock_refusal`).

`ExchangeClocks.offsets()` is the public read of the last offsets (health checks, metrics).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from arbitrage.exchanges.connector import ClockOffset, ConnectorRegistry, ExchangeError
from arbitrage.logging import get_logger

log = get_logger(__name__)


class ExchangeClocks:
    """The clocks of the configured exchanges, read from their connectors."""

    def __init__(self, connectors: ConnectorRegistry) -> None:
        self._connectors = connectors

    def offset(self, exchange_id: str) -> ClockOffset | None:
        """The last measured offset (the exchange's clock minus ours), None while unknown."""
        connector = self._connectors.connectors.get(exchange_id)
        return connector.clock_offset if connector is not None else None

    def offsets(self) -> dict[str, ClockOffset | None]:
        return {exchange_id: self.offset(exchange_id) for exchange_id in sorted(self._connectors.connectors)}

    def offset_seconds(self, exchange_id: str) -> float:
        """The offset in seconds, 0 while unknown (nothing opens then; closes go by our own clock)."""
        clock = self.offset(exchange_id)
        return clock.offset_ms / 1000 if clock is not None else 0.0

    async def measure(self, exchange_id: str) -> ClockOffset | None:
        """Measure one exchange again (the connector logs the offset, and any change above 100 ms)."""
        try:
            return await self._connectors.get(exchange_id).measure_clock_offset()
        except ExchangeError as error:
            last = self.offset(exchange_id)
            log.warning("clock_measurement_failed", exchange=exchange_id, error=error.user_message,
                        last_offset_ms=round(last.offset_ms, 1) if last is not None else None)
            return None

    async def measure_all(self) -> None:
        """Every exchange, concurrently (at start and as the periodic job)."""
        await asyncio.gather(*(self.measure(exchange_id) for exchange_id in sorted(self._connectors.connectors)))


class NoOffsets:
    """Every clock taken to agree with ours (the CLI's planning, tests of pure timing)."""

    def offset_seconds(self, exchange_id: str) -> float:
        return 0.0


async def clock_refusal(connectors: ConnectorRegistry, exchanges: Iterable[str], max_skew_ms: int) -> str | None:
    """Why nothing may open on `exchanges` now, or None. An exchange not measured yet (it was unreachable at
    start) is measured once more first."""
    clocks = ExchangeClocks(connectors)
    for exchange_id in dict.fromkeys(exchanges):
        clock = clocks.offset(exchange_id) or await clocks.measure(exchange_id)
        if clock is None:
            return (f"{exchange_id}'s clock offset is unknown (its server time could not be read), so the order "
                    f"timestamps and the entry cutoff cannot be trusted; nothing was opened on either leg. Check "
                    f"that {exchange_id} is reachable; the daemon measures its clock again every "
                    f"ARBITRAGE_CLOCK_CHECK_MINUTES")
        if abs(clock.offset_ms) > max_skew_ms:
            direction = "ahead of" if clock.offset_ms > 0 else "behind"
            return (f"{exchange_id}'s clock is {abs(clock.offset_ms):.0f} ms {direction} this host's, above "
                    f"ARBITRAGE_MAX_CLOCK_SKEW_MS={max_skew_ms}; nothing was opened on either leg. Fix the host "
                    f"clock (NTP: chrony or systemd-timesyncd) or raise ARBITRAGE_MAX_CLOCK_SKEW_MS")
    return None
