"""The ccxt client class each connector instantiates: ccxt's own, with two overrides.

- `fetch2` (every HTTP request passes it) first waits for the account's request budget (`budget.py`): orders on
  the order limits, everything else on the request limits by priority. ccxt's own limiter is off: it is one FIFO
  queue per client, so an order would wait behind every read queued before it, and it knows neither the
  documented windows nor per-endpoint limits.
- `fetch2` also times each request and counts its failures by error kind (`ops/metrics.py`).
- `open` adds a trace to ccxt's HTTP session that notes when each request is written to the socket:
  the budget counts the request from then on, and the order windows and clock samples take that time. A request
  whose write was not seen, or that opened a connection, is counted from when its answer (or failure) came back,
  which is never too early. The trace also keeps how long the last request that opened a connection took to
  be answered (`arbitrage_new_connection_seconds`): the warm-ups before a trigger must allow for it.
- `sign` gives order requests their receive window and records when they were signed (`signing.py`).
- `fetch2` holds an admitted order until the other legs of its subscription are admitted too, and `fetch` (the
  write of a signed request) holds a signed order until they are signed too (`send_gate.py`), so that the legs
  are written back to back.
- `nonce` (every signed request's timestamp) is on the exchange's clock: ours plus the measured offset.
- `session` and `tcp_connector` are kept once per connection pool: orders and their warm-ups have a pool of their
  own (`order_connections.py`), which `close` closes too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

import aiohttp

from arbitrage.exchanges.budget import Admission
from arbitrage.exchanges.errors import rule_for
from arbitrage.exchanges.order_connections import (
    close_order_connections,
    on_order_connections,
    pooled,
    unlimited_connections,
)
from arbitrage.exchanges.send_gate import order_admitted, order_signed
from arbitrage.exchanges.signing import WindowStyle, current_order_window, signing_an_order, windowed_sign
from arbitrage.ops.metrics import observed_request


_ADMISSION: ContextVar[Admission | None] = ContextVar("arbitrage_request_admission", default=None)
_CLIENT: ContextVar[Any] = ContextVar("arbitrage_request_client", default=None)


@dataclass
class RequestTiming:
    written_at: float | None = None  # epoch seconds when the (last) request was handed to its connection
    origin: str | None = None  # scheme, host and port the (last) request went to


_TIMING: ContextVar[RequestTiming | None] = ContextVar("arbitrage_request_timing", default=None)


@contextmanager
def request_timing() -> Iterator[RequestTiming]:
    """When the requests made inside this block (in this task) were written, after any wait for the budget (a
    clock sample's round trip must not include that wait), and where they went."""
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
        order = signing_an_order()
        admission = None
        if budget is not None:
            weight = self.arbitrage_weights.get((api_name, path)) or self.calculate_rate_limiter_cost(
                api, method, path, params, config)
            admission = await budget.acquire(order=order, endpoint=f"{method} {path}",
                                             weight=max(round(float(weight)), 1))
        token, client_token = _ADMISSION.set(admission), _CLIENT.set(self)
        try:
            if order:
                await order_admitted()
            with observed_request(exchange_id, method, f"{api_name}/{path}", _error_kind):
                return await base.fetch2(self, path, api, method, params, config)
        finally:
            _ADMISSION.reset(token)
            _CLIENT.reset(client_token)
            if admission is not None:
                admission.written(time.time())  # no change if its write was seen

    async def fetch(self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        if current_order_window() is not None:
            await order_signed()
        _written(time.time())  # until the trace sees the write itself
        return await base.fetch(self, url, method, headers, body)

    def open(self: Any, lazy: bool = False) -> None:
        created = self.tcp_connector is None
        base.open(self, lazy)
        if created and self.tcp_connector is not None and on_order_connections():
            unlimited_connections(self.tcp_connector)
        if self.session is not None and _WRITE_TRACE not in self.session.trace_configs:
            self.session.trace_configs.append(_WRITE_TRACE)

    async def close(self: Any, clean_instance_data: bool = False) -> None:
        self.closed_by_user = True  # as ccxt's close does first: no request reopens a pool meanwhile
        await close_order_connections(self)
        await base.close(self, clean_instance_data)

    members = {"sign": windowed_sign(base, style, exchange_id), "fetch2": fetch2, "fetch": fetch, "open": open,
               "close": close, "session": pooled("session"), "tcp_connector": pooled("tcp_connector"),
               "nonce": nonce, "arbitrage_budget": None, "arbitrage_weights": {},
               "arbitrage_new_connection_seconds": None}
    return type(base.__name__, (base,), members)


def _written(at: float) -> None:
    """The current request was (or, before the trace sees it, is about to be) written at `at`."""
    window = current_order_window()
    if window is not None:
        window.written_at = at
    timing = _TIMING.get()
    if timing is not None:
        timing.written_at = at


# Trace callbacks run in the task that made the request, so the request's context variables are its own; the
# trace's own context (a namespace per request) carries what is known of the request so far.
async def _on_connection_created(session: Any, context: Any, params: Any) -> None:
    context.new_connection = True


async def _on_request_start(session: Any, context: Any, params: Any) -> None:
    context.started = time.monotonic()
    timing = _TIMING.get()
    if timing is not None:
        timing.origin = str(params.url.origin())


async def _on_request_end(session: Any, context: Any, params: Any) -> None:
    """The last request that opened a connection: how long until its answer (handshake and round trip)."""
    client = _CLIENT.get()
    if client is not None and getattr(context, "new_connection", False):
        client.arbitrage_new_connection_seconds = time.monotonic() - context.started


async def _on_headers_sent(session: Any, context: Any, params: Any) -> None:
    # aiohttp holds the headers of a request with a body back to send them with it, from a task of its own on
    # Python 3.11 (which may run well later on a busy loop): such a request is written with its first chunk.
    headers = params.headers
    if headers.get("Transfer-Encoding") or int(headers.get("Content-Length") or 0) > 0:
        return
    _on_write(context)


async def _on_chunk_sent(session: Any, context: Any, params: Any) -> None:
    if not getattr(context, "written", False):
        _on_write(context)


def _on_write(context: Any) -> None:
    context.written = True
    now = time.time()
    _written(now)
    admission = _ADMISSION.get()
    # A request on a new connection is left to be counted from its answer: a link may hold its first bytes for a
    # handshake (a proxy's, a load balancer's) this side cannot see.
    if admission is not None and not getattr(context, "new_connection", False):
        admission.written(now)


_WRITE_TRACE = aiohttp.TraceConfig()
_WRITE_TRACE.on_request_start.append(_on_request_start)
_WRITE_TRACE.on_request_end.append(_on_request_end)
_WRITE_TRACE.on_connection_create_end.append(_on_connection_created)
_WRITE_TRACE.on_request_headers_sent.append(_on_headers_sent)
_WRITE_TRACE.on_request_chunk_sent.append(_on_chunk_sent)
_WRITE_TRACE.freeze()


def _error_kind(error: Exception) -> str:
    return rule_for(error).kind.value
