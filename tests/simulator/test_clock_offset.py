"""An exchange whose clock runs ahead of or behind the host's: it checks request timestamps, answers its server
time and settles funding on its own clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt.async_support as ccxt
import pytest
from test_engine import T0, FakeClock, btc

from arbitrage.simulator.engine import Engine
from arbitrage.simulator.server import SimulatorServer

S = "BTC/USDT:USDT"
# exchange → (an offset at which an unadjusted client's timestamps are refused, ccxt's class for it, the code)
REFUSING = {
    "binanceusdm": (-3000, ccxt.InvalidNonce, "-1021"),  # timestamp more than 1 s in the exchange's future
    "bybit": (-3000, ccxt.InvalidNonce, "10002"),
    "bingx": (-3000, ccxt.BadSymbol, "100421"),  # ccxt's mapping of BingX's timestamp error
    "mexc": (-11000, ccxt.InvalidNonce, "700003"),  # Request-Time more than 10 s off
}


def client(ccxt_client: Callable[..., Any], exchange_id: str, **options: Any) -> Any:
    return ccxt_client(exchange_id, has={"fetchCurrencies": False},
                       options={"defaultType": "swap", "fetchCurrencies": False, **options})


@pytest.mark.parametrize("exchange_id", sorted(REFUSING))
async def test_server_time_and_timestamp_checks_follow_the_exchange_clock(
    sim: SimulatorServer, ccxt_client: Callable[..., Any], exchange_id: str
) -> None:
    offset, error_class, code = REFUSING[exchange_id]
    sim.engine.set_clock_offset(exchange_id, offset)
    exchange = client(ccxt_client, exchange_id)
    await exchange.load_markets()
    assert await exchange.fetch_time() - sim.engine.now() == pytest.approx(offset, abs=500)
    with pytest.raises(error_class, match=code):
        await exchange.fetch_positions([S])
    if exchange_id != "bingx":  # ccxt's own time difference (bingx ignores it)
        adjusted = client(ccxt_client, exchange_id, timeDifference=-offset)
        await adjusted.load_markets()
        assert isinstance(await adjusted.fetch_positions([S]), list)  # accepted


def test_funding_settles_on_the_exchange_clock() -> None:
    clock = FakeClock()
    engine = Engine(clock)
    engine.add_venue("binanceusdm")
    engine.add_account("binanceusdm", "key", "secret", 1000)
    engine.add_instrument("binanceusdm", btc(next_funding_time=T0 + 10_000))
    engine.set_clock_offset("binanceusdm", 3000)  # the exchange shows T0 + 10 s at engine time T0 + 7 s
    assert engine.next_event_time() == T0 + 7000
    assert engine.venue("binanceusdm").now() == T0 + 3000
    clock.advance(6999)
    assert engine.process_due() == [] and not engine.settlements
    clock.advance(1)
    engine.process_due()
    [settlement] = engine.settlements
    assert settlement.funding_time == T0 + 10_000 and settlement.applied


def test_funding_in_seconds_counts_from_the_exchange_clock() -> None:
    engine = Engine(FakeClock())
    engine.add_venue("bingx")
    engine.add_instrument("bingx", btc(next_funding_time=T0 + 60_000))
    engine.set_clock_offset("bingx", -2000)
    instrument = engine.set_funding("bingx", S, next_funding_in_seconds=5)
    assert instrument.next_funding_time == T0 - 2000 + 5000
    assert engine.next_event_time() == T0 + 5000
