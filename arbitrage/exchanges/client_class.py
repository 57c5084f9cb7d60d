"""The ccxt client class each connector instantiates: ccxt's own, with two overrides.

- `fetch2` (every HTTP request passes it) first waits for the account's request budget (`budget.py`): orders on
  the order limits, everything else on the request limits by priority. ccxt's own limiter is off: it is one FIFO
  queue per client, so an order would wait behind every read queued before it, and it knows neither the
  documented windows nor per-endpoint limits.
- `fetch2` also times each request and counts its failures by error kind (`ops/metrics.py`).
- `sign` gives order requests their receive window and records when they were signed (`signing.py`).
- `fetch` (the write of a signed request) holds a signed order until the other legs of its subscription are
  signed too (`send_gate.py`), so that the legs are written back to back.
- `nonce` (every signed request's timestamp) is on the exchange's clock: ours plus the measured offset.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

from arbitrage.exchanges.errors import rule_for
from arbitrage.exchanges.send_gate import order_signed
from arbitrage.exchanges.signing import WindowStyle, current_order_window, signing_an_order, windowed_sign
from arbitrage.ops.metrics import observed_request


@dataclass
class RequestTiming:
    written_at: float | None = None  # epoch seconds when the (last) request was handed to its connection


_TIMING: ContextVar[RequestTiming | None] = ContextVar("arbitrage_request_timing", default=None)


@contextmanager
def request_timing() -> Iterator[RequestTiming]:
    """When the requests made inside this block (in this task) were written, after any wait for the budget: a
    clock sample's round trip must not include that wait."""
    timing = RequestTiming()
    token = _TIMING.set(timing)
    try:
        yield timing
    finally:
        _TIMING.reset(token)


def nonce(self: Any) -> int:
    """The timestamp every signed request carries: our clock corrected by options['timeDifference'] (our clock
    minus the exchange's, set from the measured offset). ccxt's binance, bybit and mexc compute it this way; its
    bingx ignores the option and sends the raw local time."""
    return int(self.milliseconds() - int(self.options.get("timeDifference") or 0))


@cache
def client_class(base: type[Any], style: WindowStyle, exchange_id: str) -> type[Any]:
    async def fetch2(self: Any, path: Any, api: Any = "public", method: str = "GET", params: Any = None,
                     config: Any = None) -> Any:
        params = {} if params is None else params
        config = {} if config is None else config
        budget = self.arbitrage_budget
        api_name = api if isinstance(api, str) else "/".join(map(str, api))
        if budget is not None:
            weight = self.arbitrage_weights.get((api_name, path)) or self.calculate_rate_limiter_cost(
                api, method, path, params, config)
            await budget.acquire(order=signing_an_order(), endpoint=f"{method} {path}",
                                 weight=max(round(float(weight)), 1))
        with observed_request(exchange_id, method, f"{api_name}/{path}", _error_kind):
            return await base.fetch2(self, path, api, method, params, config)

    async def fetch(self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        window = current_order_window()
        if window is not None:
            await order_signed()
            window.written_at = time.time()
        timing = _TIMING.get()
        if timing is not None:
            timing.written_at = time.time()
        return await base.fetch(self, url, method, headers, body)

    members = {"sign": windowed_sign(base, style, exchange_id), "fetch2": fetch2, "fetch": fetch, "nonce": nonce,
               "arbitrage_budget": None, "arbitrage_weights": {}}
    return type(base.__name__, (base,), members)


def _error_kind(error: Exception) -> str:
    return rule_for(error).kind.value
