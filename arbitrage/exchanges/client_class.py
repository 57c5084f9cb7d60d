"""The ccxt client class each connector instantiates: ccxt's own, with two overrides.

- `fetch2` (every HTTP request passes it) first waits for the account's request budget (`budget.py`): orders on
  the order limits, everything else on the request limits by priority. ccxt's own limiter is off: it is one FIFO
  queue per client, so an order would wait behind every read queued before it, and it knows neither the
  documented windows nor per-endpoint limits.
- `fetch2` also times each request and counts its failures by error kind (`ops/metrics.py`).
- `sign` gives order requests their receive window and records when they were signed (`signing.py`).
- `fetch` (the write of a signed request) holds a signed order until the other legs of its subscription are
  signed too (`send_gate.py`), so that the legs are written back to back.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from arbitrage.exchanges.errors import rule_for
from arbitrage.exchanges.send_gate import order_signed
from arbitrage.exchanges.signing import WindowStyle, current_order_window, signing_an_order, windowed_sign
from arbitrage.ops.metrics import observed_request


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
        return await base.fetch(self, url, method, headers, body)

    members = {"sign": windowed_sign(base, style, exchange_id), "fetch2": fetch2, "fetch": fetch,
               "arbitrage_budget": None, "arbitrage_weights": {}}
    return type(base.__name__, (base,), members)


def _error_kind(error: Exception) -> str:
    return rule_for(error).kind.value
