"""Exchange clocks through the real daemon: every exchange's clock 3 s ahead of the host's, then 3 s behind.

The simulator's exchanges check timestamps, stamp funding and settle it on their own clocks. The daemon measures
each offset at start, signs on the exchange's clock and times the trigger so that every open arrives its lead
before the funding time AS THE EXCHANGE SEES IT (read from the simulator's request log); a timestamp the exchange
refuses once is sent again after measuring again; above ARBITRAGE_MAX_CLOCK_SKEW_MS (or with an offset it cannot
read) nothing is opened and the row says why.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from e2e_harness import LEVERAGE_PATHS, ORDER_PATHS

from arbitrage.domain import Side
from arbitrage.domain.status import Status
from arbitrage.exchanges.ccxt_connector import CLOCK_SAMPLES
from arbitrage.simulator.errors import ErrorKind

BTC = "BTC/USDT:USDT"
PAIRS = [("bingx", "binanceusdm", Side.SHORT), ("bybit", "mexc", Side.LONG)]  # every exchange once
TIME_PATHS = {
    "binanceusdm": "/fapi/v1/time",
    "bybit": "/v5/market/time",
    "bingx": "/openApi/swap/v2/server/time",
    "mexc": "/api/v1/contract/ping",
}
MIN_LEAD_S = 2  # each exchange's entry cutoff, as BingX's 30 s (short for a fast test)
# max(lead 1 s, cutoff 2 s, cutoff + 2 s of headroom): the orders leave 4 s before funding on the exchange clock.
EFFECTIVE_LEAD_MS = 4000


def settings(**overrides: object) -> dict[str, object]:
    return {"lead_seconds": 1, "every_exchange": {"min_lead_seconds": MIN_LEAD_S, "order_recv_window_ms": 1000},
            **overrides}


def favourable(side: Side) -> Decimal:
    return Decimal("0.0004") if side is Side.SHORT else Decimal("-0.0004")


@pytest.mark.parametrize("offset_ms", [3000, -3000])
async def test_cycles_complete_on_the_exchanges_clocks(sim, harness_factory, tmp_path, offset_ms) -> None:
    for exchange in ORDER_PATHS:
        sim.engine.set_clock_offset(exchange, offset_ms)
    # One refused timestamp on BingX's open: sent again after measuring again.
    sim.faults.add(action="error", exchange="bingx", method="POST", path=ORDER_PATHS["bingx"],
                   error_kind=ErrorKind.AUTH_TIMESTAMP, times=1)
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", **settings(max_clock_skew_ms=5000,
                                                                                   clock_check_minutes=0.05))
    ids = []
    for primary, hedge, side in PAIRS:
        sim.engine.set_funding(primary, BTC, rate=favourable(side))
        # Ahead of us the trigger comes 3 s earlier by our clock: enough time to start and prepare first.
        subscription_id, funding_time = await harness.subscribe(primary, hedge, side,
                                                                funding_in=6 + max(offset_ms, 0) / 1000)
        ids.append(subscription_id)
    await harness.start()
    assert set((await harness.wait_until_finished(ids, timeout=30)).values()) == {Status.COMPLETED}

    funding_ms = funding_time.timestamp() * 1000  # the exchanges' funding stamp
    for exchange, path in ORDER_PATHS.items():
        records = harness.requests(exchange, path, BTC)
        accepted = [r for r in records if r.outcome == "ok"]
        assert len(accepted) == 2, (exchange, records)
        opened, closed = (r.received_ns / 1e6 + offset_ms for r in accepted)  # on the exchange's clock
        # Read on our clock the opens would arrive 1 s (exchanges ahead) or 7 s (behind) before funding.
        lead_ms = funding_ms - opened
        assert MIN_LEAD_S * 1000 <= lead_ms <= EFFECTIVE_LEAD_MS + 300, (
            f"{exchange}: the open arrived {lead_ms:.0f} ms before funding on its clock")
        assert closed > funding_ms, f"{exchange}: closed before its funding time"
        assert all(r.timestamp_ms == pytest.approx(r.received_ns / 1e6 + offset_ms, abs=500) for r in accepted), (
            "signed with the exchange's time")

    bingx = harness.requests("bingx", ORDER_PATHS["bingx"], BTC)
    assert bingx[0].error_kind == "AUTH_TIMESTAMP" and bingx[1].outcome == "ok"
    measured = [r.seq for r in sim.requests.query(exchange="bingx", path=TIME_PATHS["bingx"])]
    assert any(bingx[0].seq < seq < bingx[1].seq for seq in measured), "measured again before sending again"
    # At start and every 3 s (ARBITRAGE_CLOCK_CHECK_MINUTES=0.05); the warm-up before the trigger asks it too.
    assert len(sim.requests.query(exchange="binanceusdm", path=TIME_PATHS["binanceusdm"])) >= 2 * CLOCK_SAMPLES
    for subscription_id, (primary, hedge, _) in zip(ids, PAIRS, strict=True):
        story = await harness.story(subscription_id)
        assert {p.exchange for p in story.payments} == {primary, hedge}, "funding paid on both exchanges' clocks"
    for exchange in ORDER_PATHS:
        venue = sim.engine.venue(exchange)
        assert venue.position_views(venue.default_account(), BTC) == [], f"{exchange} must be flat"


@pytest.mark.parametrize("problem", ["too_far", "unknown"])
async def test_nothing_opens_when_a_clock_cannot_be_trusted(sim, harness_factory, tmp_path, problem) -> None:
    if problem == "too_far":
        sim.engine.set_clock_offset("bingx", -1500)
    else:  # its server time cannot be read at all
        sim.faults.add(action="http_5xx", exchange="bingx", path=TIME_PATHS["bingx"], times=None)
    harness = await harness_factory(f"sqlite:///{tmp_path / 'db.sqlite'}", **settings(max_clock_skew_ms=1000))
    sim.engine.set_funding("binanceusdm", BTC, rate=Decimal("0.0004"))
    subscription_id, _ = await harness.subscribe("binanceusdm", "bingx", Side.SHORT, funding_in=6)
    await harness.start()
    assert await harness.wait_until_finished([subscription_id]) == {subscription_id: Status.ERROR}
    story = await harness.story(subscription_id)
    message = story.subscription.error_message
    if problem == "too_far":
        assert re.search(r"bingx's clock is 1(499|500|501) ms behind this host's", message), message
        assert "ARBITRAGE_MAX_CLOCK_SKEW_MS=1000" in message and "NTP" in message
    else:
        assert "bingx's clock offset is unknown" in message and "reachable" in message
    assert "nothing was opened on either leg" in message
    assert story.orders == [] and "clock_refused" in story.event_names()
    for exchange in ("binanceusdm", "bingx"):
        assert harness.requests(exchange, ORDER_PATHS[exchange]) == [], "no order may reach an exchange"
        assert harness.requests(exchange, LEVERAGE_PATHS[exchange]) == [], "nothing is changed either"
