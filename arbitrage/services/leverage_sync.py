"""Set the same leverage on both exchanges in parallel, read it back, and compare."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from arbitrage.exchanges.connector import ErrorKind, ExchangeConnector, ExchangeError


@dataclass(frozen=True)
class LegVenue:
    """One leg's exchange account and symbol."""

    connector: ExchangeConnector
    symbol: str

    @property
    def exchange(self) -> str:
        return self.connector.exchange_id


class LeverageSyncFailed(Exception):
    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        detail = "; ".join(f"{exchange}: {reason}" for exchange, reason in failures)
        super().__init__(f"Leverage sync failed: {detail}")


async def _sync_one(venue: LegVenue, leverage: int) -> None:
    await venue.connector.set_leverage(venue.symbol, leverage)
    applied = await venue.connector.fetch_leverage(venue.symbol)
    if not applied.matches(leverage):
        raise ExchangeError(
            venue.exchange,
            "fetch_leverage",
            f"leverage read back as long={applied.long} short={applied.short}, expected {leverage}",
            kind=ErrorKind.LEVERAGE_MISMATCH,
            hint="another client may be changing leverage on this account",
        )


async def sync_leverage(primary: LegVenue, hedge: LegVenue, leverage: int) -> None:
    """Both exchanges at `leverage`, verified by reading it back; raises LeverageSyncFailed naming each failure."""
    results = await asyncio.gather(
        _sync_one(primary, leverage), _sync_one(hedge, leverage), return_exceptions=True
    )
    failures: list[tuple[str, str]] = []
    for venue, result in zip((primary, hedge), results, strict=True):
        if isinstance(result, ExchangeError):
            failures.append((venue.exchange, _reason(result)))
        elif isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            failures.append((venue.exchange, f"unexpected error: {result}"))
    if failures:
        raise LeverageSyncFailed(failures)


def _reason(error: ExchangeError) -> str:
    return f"{error.reason}; {error.hint}" if error.hint else error.reason
