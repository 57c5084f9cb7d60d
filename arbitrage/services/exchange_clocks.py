"""Each exchange's clock offset, measured from its server-time endpoint.

The offset (and half the round trip, its uncertainty) bounds when an order whose answer was lost can still be
executed: the exchange checks the order's timestamp against its own clock. Until an exchange has been measured its
connector assumes a conservative bound.
"""

from __future__ import annotations

from arbitrage.exchanges.connector import ExchangeConnector, ExchangeError
from arbitrage.logging import get_logger

log = get_logger(__name__)


async def measure_clock(exchange_id: str, connector: ExchangeConnector) -> None:
    try:
        clock = await connector.measure_clock_offset()
    except ExchangeError as error:
        log.warning("clock_offset_unknown", exchange=exchange_id, error=error.user_message)
        return
    log.info("clock_offset_measured", exchange=exchange_id, offset_ms=round(clock.offset_ms, 1),
             uncertainty_ms=round(clock.uncertainty_ms, 1))
