"""Each venue's order request and the faults it can meet. Shared by the tests, the fault matrix
(tests/e2e/fault_matrix.py), the soak and the benchmarks."""

from __future__ import annotations

from typing import Any

# The request that creates an order (POST), per exchange.
ORDER_PATHS: dict[str, str] = {
    "binanceusdm": "/fapi/v1/order",
    "bybit": "/v5/order/create",
    "bingx": "/openApi/swap/v2/trade/order",
    "mexc": "/api/v1/private/order/create",
}

# The faults an order request can meet, as `sim.faults.add` fields (exchange, method, path and params are added
# where a fault is placed).
ORDER_FAULT_KINDS: dict[str, list[dict[str, Any]]] = {
    "rejected": [{"action": "error", "error_kind": "INSUFFICIENT_MARGIN"}],
    "held_past_timeout": [{"action": "latency", "latency_ms": 2000}],  # executes late, inside its 3 s window
    "held_past_window": [{"action": "latency", "latency_ms": 3600}],  # refused by the exchange's timestamp rule
    "response_lost": [{"action": "lost_response", "lost_delay_ms": 30000}],
    "dropped_unprocessed": [{"action": "drop"}],
    "executed_then_dropped": [{"action": "lost_response", "lost_mode": "drop"}],
    "503_once": [{"action": "http_5xx", "status": 503}],
    "rate_limited_once": [{"action": "error", "error_kind": "RATE_LIMITED"}],
    "lookup_lag": [{"action": "lost_response", "lost_mode": "drop"}, {"action": "index_lag", "lag_ms": 3000}],
}
