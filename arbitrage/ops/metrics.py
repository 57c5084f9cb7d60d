"""The Prometheus metrics the code observes as it runs, on one module-level registry (`REGISTRY`).

This module imports nothing of ours, so that the exchange layer can observe its requests without an import
cycle. Values read from the database and the connectors at scrape time (subscriptions by status, money totals,
clock offsets, budget use) come from `ops/state_collector.py`, registered by the HTTP server.

Labels carry only exchange ids, ccxt endpoint templates (`v5/order/create`, never a query string), HTTP methods,
error kinds and step names: bounded sets, and never a secret.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# The `_created` series (one extra timestamp per label set) are noise for a single long-running process.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)

# Round trips to an exchange, from a few ms (co-located) to the request timeout.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# How far apart the two legs leave, and how late the first one leaves after its trigger: milliseconds matter.
_WIRE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# A step is a leverage sync (a second) up to a funding confirmation (minutes).
_STEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
# A request that fits the budget waits nothing; a full window makes it wait up to the window's length.
_BUDGET_WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

EXCHANGE_REQUEST_DURATION = Histogram(
    "arbitrage_exchange_request_duration_seconds",
    "One HTTP request to an exchange through ccxt (signing, round trip, parsing), after the request budget.",
    ["exchange", "method", "endpoint"], buckets=_REQUEST_BUCKETS, registry=REGISTRY,
)
EXCHANGE_REQUEST_ERRORS = Counter(
    "arbitrage_exchange_request_errors_total",
    "Exchange requests that failed, by the neutral error kind (timeout, rate_limited, rejected, ...).",
    ["exchange", "method", "endpoint", "kind"], registry=REGISTRY,
)
RATE_BUDGET_WAIT = Histogram(
    "arbitrage_rate_budget_wait_seconds",
    "How long a request waited for room in its exchange account's request budget (budget: orders or requests).",
    ["exchange", "budget"], buckets=_BUDGET_WAIT_BUCKETS, registry=REGISTRY,
)
PIPELINE_STEP_DURATION = Histogram(
    "arbitrage_pipeline_step_duration_seconds",
    "One pipeline step of one subscription (prepare, open, confirm_funding, close, complete, recover).",
    ["step"], buckets=_STEP_BUCKETS, registry=REGISTRY,
)
LEG_GAP = Histogram(
    "arbitrage_leg_gap_seconds",
    "Between the two open orders of a subscription as they were written to their connections (after the budget).",
    buckets=_WIRE_BUCKETS, registry=REGISTRY,
)
TRIGGER_LATENESS = Histogram(
    "arbitrage_trigger_lateness_seconds",
    "From the planned trigger to the first open order's write (negative values land in the first bucket).",
    buckets=_WIRE_BUCKETS, registry=REGISTRY,
)


@contextmanager
def observed_request(exchange: str, method: str, endpoint: str,
                     error_kind: Callable[[Exception], str]) -> Iterator[None]:
    """Time one exchange request; a failure is counted under `error_kind(error)` and raised on."""
    started = time.perf_counter()
    try:
        yield
    except Exception as error:
        EXCHANGE_REQUEST_ERRORS.labels(exchange, method, endpoint, error_kind(error)).inc()
        raise
    finally:
        EXCHANGE_REQUEST_DURATION.labels(exchange, method, endpoint).observe(time.perf_counter() - started)


def observe_budget_wait(exchange: str, budget: str, seconds: float) -> None:
    RATE_BUDGET_WAIT.labels(exchange, budget).observe(seconds)


def observe_open_wire(gap_ms: float, trigger_lateness_ms: float | None) -> None:
    LEG_GAP.observe(gap_ms / 1000)
    if trigger_lateness_ms is not None:
        TRIGGER_LATENESS.observe(trigger_lateness_ms / 1000)


@contextmanager
def timed_step(step: str) -> Iterator[None]:
    """Observe the block's duration as pipeline step `step` (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        PIPELINE_STEP_DURATION.labels(step).observe(time.perf_counter() - started)


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one sample (0 when it was never observed)."""
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0
