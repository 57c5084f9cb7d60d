"""Each exchange account's position mode (one-way or hedge), read once at start.

The connectors remember the mode and send each venue's parameters for it (Binance `positionSide`, Bybit
`positionIdx`, BingX LONG/SHORT leverage sides, MEXC `positionMode`); reading it at start means the first order
does not pay for the lookup, and the log says which accounts are hedged before anything trades.
"""

from __future__ import annotations

import asyncio

from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError, PositionMode
from arbitrage.logging import get_logger

log = get_logger(__name__)


async def detect_position_modes(connectors: ConnectorRegistry) -> dict[str, PositionMode]:
    """The mode of every configured account; an exchange that cannot tell now is asked again on first use."""

    async def detect(exchange_id: str) -> tuple[str, PositionMode | None]:
        try:
            mode = await connectors.get(exchange_id).position_mode()
        except ExchangeError as error:
            log.error("position_mode_unknown", exchange=exchange_id, error=error.user_message)
            return exchange_id, None
        log.info("position_mode_detected", exchange=exchange_id, mode=mode.value)
        return exchange_id, mode

    results = await asyncio.gather(*(detect(exchange_id) for exchange_id in sorted(connectors.connectors)))
    return {exchange_id: mode for exchange_id, mode in results if mode is not None}
