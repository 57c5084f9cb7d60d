"""`/healthz`, `/readyz` and `/metrics` served by the real listener on an ephemeral port, scraped over HTTP."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.status import Status
from arbitrage.exchanges.ccxt_connector import CLOCK_SAMPLES
from arbitrage.ops.health import HealthChecks
from arbitrage.ops.http_server import HttpListenError, OpsHttpServer
from arbitrage.ops.metrics import sample
from arbitrage.ops.state_collector import DaemonStateCollector

from ops_harness import EXCHANGES

HEALTH_CHECKS = ["database", "scheduler", *(f"markets:{e}" for e in EXCHANGES), *(f"clock:{e}" for e in EXCHANGES)]


async def test_healthz_is_200_when_every_check_passes(make_ops):
    ops = await make_ops()
    await ops.load_markets_and_clocks()
    await ops.start_scheduler()
    health = await ops.get("/healthz")
    assert health.status == 200, health.json
    assert health.json["status"] == "ok" and health.json["failed"] == []
    assert [check["name"] for check in health.json["checks"]] == HEALTH_CHECKS
    assert all(check["ok"] for check in health.json["checks"])
    ready = await ops.get("/readyz")
    assert ready.status == 200 and ready.json["failed"] == []


async def test_readyz_waits_for_markets_and_the_scheduler(make_ops):
    ops = await make_ops()
    ready = await ops.get("/readyz")
    assert ready.status == 503
    assert ready.json["failed"] == [*(f"markets:{e}" for e in EXCHANGES), "scheduler"]
    health = await ops.get("/healthz")
    assert health.status == 503
    assert health.json["failed"] == ["scheduler", *(f"markets:{e}" for e in EXCHANGES),
                                     *(f"clock:{e}" for e in EXCHANGES)]
    assert {c["detail"] for c in health.json["checks"] if c["name"].startswith("clock:")} == {
        "clock offset not measured yet"}

    await ops.load_markets_and_clocks()
    scheduler = await ops.start_scheduler()
    assert (await ops.get("/readyz")).status == 200
    scheduler.scheduler.pause()  # what shutdown does first
    paused = await ops.get("/healthz")
    assert paused.status == 503 and paused.json["failed"] == ["scheduler"]


async def test_healthz_names_the_database_when_it_does_not_answer(make_ops):
    ops = await make_ops()
    await ops.load_markets_and_clocks()
    await ops.start_scheduler()
    assert (await ops.get("/metrics")).value("arbitrage_database_up") == 1
    # The database goes away: nothing listens on port 1, so every connection is refused.
    gone = Database("postgresql://postgres:hunter2secret@127.0.0.1:1/nowhere")
    ops.server.checks.db = ops.server.collector.db = gone
    started = time.perf_counter()
    health = await ops.get("/healthz")
    assert time.perf_counter() - started < 3
    assert health.status == 503
    assert health.json["failed"] == ["database"]
    database = next(c for c in health.json["checks"] if c["name"] == "database")
    assert database["ok"] is False and database["detail"]
    assert "hunter2secret" not in health.body
    metrics = await ops.get("/metrics")
    assert metrics.status == 200, "a scrape still answers"
    assert metrics.value("arbitrage_database_up") == 0
    await gone.dispose()


async def test_healthz_names_each_exchange_whose_clock_is_off(make_ops, sim_clock):
    ops = await make_ops(max_clock_skew_ms=500)
    await ops.load_markets_and_clocks()
    await ops.start_scheduler()
    assert (await ops.get("/healthz")).status == 200
    sim_clock.offset_ms = 2500  # the exchanges' clocks run 2.5 s ahead of ours
    await ops.connectors.get("bybit").measure_clock_offset()
    health = await ops.get("/healthz")
    assert health.status == 503
    assert health.json["failed"] == ["clock:bybit"], "binanceusdm was measured before the skew"
    clock = next(c for c in health.json["checks"] if c["name"] == "clock:bybit")
    offset = re.fullmatch(r"offset \+(\d+) ms \(±\d+ ms\) exceeds ARBITRAGE_MAX_CLOCK_SKEW_MS=500; sync the local "
                          r"clock \(NTP\)", clock["detail"])
    assert offset and 2400 < int(offset.group(1)) < 2600, clock["detail"]
    metrics = await ops.get("/metrics")
    assert metrics.value("arbitrage_exchange_clock_offset_seconds", exchange="bybit") == pytest.approx(2.5, abs=0.1)
    assert metrics.value("arbitrage_exchange_clock_offset_seconds", exchange="binanceusdm") == pytest.approx(
        0, abs=0.1)


async def test_metrics_read_subscriptions_and_money_from_the_rows(make_ops, migrated_database_url):
    ops = await make_ops(migrated_database_url, migrate=False)
    funding_time = datetime.now(UTC) + timedelta(days=1)
    results = [  # (status, funding received, fees, realized pnl)
        (Status.COMPLETED, Decimal("0.123456789012345678"), Decimal("0.05"), Decimal("0.073456789012345678")),
        (Status.COMPLETED, Decimal("-0.02"), Decimal("0.01"), Decimal("-0.5")),
        (Status.NEEDS_ATTENTION, None, None, None),
        (Status.SCHEDULED, None, None, None),
        (Status.SCHEDULED, None, None, None),
    ]
    async with ops.db.unit_of_work() as session:
        for status, funding, fees, pnl in results:
            row = await repo.create_subscription(
                session, primary_exchange="bybit", primary_symbol="BTC/USDT:USDT", hedge_exchange="binanceusdm",
                hedge_symbol="BTC/USDT:USDT", side=Side.SHORT, amount=Decimal("0.01"), funding_time=funding_time,
                lead_seconds=5)
            await session.flush()
            await session.execute(update(Subscription).where(Subscription.id == row.id).values(
                status=status, funding_received=funding, fees=fees, realized_pnl=pnl))
    metrics = await ops.get("/metrics")
    assert metrics.status == 200
    assert metrics.value("arbitrage_database_up") == 1
    assert {status: metrics.value("arbitrage_subscriptions", status=status.value) for status in Status} == {
        status: {Status.COMPLETED: 2, Status.NEEDS_ATTENTION: 1, Status.SCHEDULED: 2}.get(status, 0)
        for status in Status}
    assert metrics.value("arbitrage_needs_attention_subscriptions") == 1
    assert metrics.value("arbitrage_funding_received_usdt") == float(Decimal("0.103456789012345678"))
    assert metrics.value("arbitrage_fees_usdt") == pytest.approx(0.06)
    assert metrics.value("arbitrage_realized_pnl_usdt") == float(Decimal("-0.426543210987654322"))
    assert metrics.value("arbitrage_exchange_markets_loaded", exchange="bybit") == 0


async def test_metrics_count_requests_budget_use_and_errors_by_kind(make_ops, sim):
    ops = await make_ops()
    before = sample("arbitrage_exchange_request_duration_seconds_count",
                    {"exchange": "bybit", "method": "GET", "endpoint": "public/v5/market/time"})
    errors_before = sample("arbitrage_exchange_request_errors_total", {
        "exchange": "bybit", "method": "GET", "endpoint": "public/v5/market/tickers", "kind": "unavailable"})
    waits_before = sample("arbitrage_rate_budget_wait_seconds_count", {"exchange": "bybit", "budget": "requests"})
    await ops.load_markets_and_clocks()
    sim.faults.add(action="http_5xx", exchange="bybit", path="/v5/market/tickers", times=1)
    bybit = ops.connectors.get("bybit")
    rate = await bybit.fetch_funding_rate("BTC/USDT:USDT")  # the read is retried after the 503
    assert rate.rate is not None
    metrics = await ops.get("/metrics")
    labels = {"exchange": "bybit", "method": "GET", "endpoint": "public/v5/market/time"}
    # one clock measurement: the best of CLOCK_SAMPLES round trips
    assert metrics.value("arbitrage_exchange_request_duration_seconds_count", **labels) == before + CLOCK_SAMPLES
    assert metrics.value("arbitrage_exchange_request_errors_total", exchange="bybit", method="GET",
                         endpoint="public/v5/market/tickers", kind="unavailable") == errors_before + 1
    assert metrics.value("arbitrage_rate_budget_wait_seconds_count", exchange="bybit",
                         budget="requests") > waits_before
    assert metrics.value("arbitrage_rate_budget_usage_ratio", exchange="bybit", budget="requests") > 0
    assert metrics.value("arbitrage_rate_budget_usage_ratio", exchange="bybit", budget="orders") == 0
    assert metrics.value("arbitrage_rate_budget_waiting_requests", exchange="bybit", budget="requests") == 0
    assert metrics.value("arbitrage_exchange_markets_loaded", exchange="bybit") == 1
    for name, value in ops.settings.exchange("bybit"):
        if name in ("api_key", "secret") and value is not None:
            assert value.get_secret_value() not in metrics.body


async def test_a_port_in_use_is_one_clear_error(make_ops):
    ops = await make_ops()
    taken = ops.server.port
    other = OpsHttpServer(HealthChecks(ops.settings, ops.db, ops.connectors, lambda: None),
                          DaemonStateCollector(ops.db, ops.connectors), "127.0.0.1", taken)
    with pytest.raises(HttpListenError, match=f"ARBITRAGE_HTTP_HOST/ARBITRAGE_HTTP_PORT: cannot listen on "
                                              f"127.0.0.1:{taken}: "):
        await other.start()
