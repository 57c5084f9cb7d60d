"""The clocks service: the offsets it exposes, and why it refuses to open (table tests, no exchange)."""

from __future__ import annotations

import pytest

from arbitrage.exchanges.connector import ClockOffset, ConnectorRegistry, ErrorKind, ExchangeError
from arbitrage.services.exchange_clocks import ExchangeClocks, clock_refusal


class Clocked:
    """A connector as far as clocks go: its last offset, and what measuring again finds."""

    def __init__(self, exchange_id: str, offset_ms: float | None, measured_ms: float | None = None) -> None:
        self.exchange_id = exchange_id
        self.clock_offset = ClockOffset(offset_ms, 1.0) if offset_ms is not None else None
        self._measured_ms = measured_ms
        self.measurements = 0

    async def measure_clock_offset(self) -> ClockOffset:
        self.measurements += 1
        if self._measured_ms is None:
            raise ExchangeError(self.exchange_id, "fetch_time", "503 Service Unavailable", kind=ErrorKind.UNAVAILABLE)
        self.clock_offset = ClockOffset(self._measured_ms, 1.0)
        return self.clock_offset


def registry(*connectors: Clocked) -> ConnectorRegistry:
    return ConnectorRegistry({c.exchange_id: c for c in connectors})  # type: ignore[misc]


@pytest.mark.parametrize(
    ("bingx", "measured", "refusal"),
    [
        (250.0, None, None),
        (-1000.0, None, None),  # at the bound is within it
        (1500.0, None, "bingx's clock is 1500 ms ahead of this host's, above ARBITRAGE_MAX_CLOCK_SKEW_MS=1000"),
        (-2400.4, None, "bingx's clock is 2400 ms behind this host's"),
        (None, 40.0, None),  # unknown at start, measured now
        (None, None, "bingx's clock offset is unknown (its server time could not be read)"),
    ],
)
async def test_clock_refusal(bingx: float | None, measured: float | None, refusal: str | None) -> None:
    connectors = registry(Clocked("binanceusdm", 3.0), Clocked("bingx", bingx, measured))
    found = await clock_refusal(connectors, ["binanceusdm", "bingx"], 1000)
    if refusal is None:
        assert found is None
    else:
        assert found is not None and refusal in found and "nothing was opened on either leg" in found


async def test_offsets_are_read_from_the_connectors() -> None:
    bybit, mexc = Clocked("bybit", 12.5), Clocked("mexc", None)
    clocks = ExchangeClocks(registry(bybit, mexc))
    assert clocks.offsets() == {"bybit": ClockOffset(12.5, 1.0), "mexc": None}
    assert clocks.offset_seconds("bybit") == 0.0125 and clocks.offset_seconds("mexc") == 0.0
    await clocks.measure_all()  # mexc's measurement fails: logged, its offset stays unknown
    assert bybit.measurements == mexc.measurements == 1 and clocks.offset("mexc") is None
