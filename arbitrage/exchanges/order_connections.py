"""Orders have connections of their own: a second HTTP session per ccxt client, used only by order requests and
by the warm-ups before a send.

A warm-up leaves an open connection in the pool for the order that follows it. In one shared pool, any request
in flight when the order goes (a previous slot's fill read, a funding poll, a lookup) may hold that connection,
and the order then opens a new one and pays the handshake: on a real link 2 to 3 round trips, which is the whole
leg gap. In a pool only orders and warm-ups use, each warm-up holds one connection (`hold_order_connection`)
until just before the send, so that the send finds one idle connection per order.

ccxt reads `self.session` (and creates it, with `self.tcp_connector`, when missing) synchronously as a request
starts, so the client class makes both attributes depend on the task's context: an order request, or a request
made inside `warming_order_connections()`, sees the order pool's session; every other request sees ccxt's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import aiohttp
from yarl import URL

from arbitrage.exchanges.signing import signing_an_order

_WARMING: ContextVar[bool] = ContextVar("arbitrage_warming_order_connections", default=False)


@contextmanager
def warming_order_connections() -> Iterator[None]:
    """Requests made inside this block go on the order pool's connections."""
    token = _WARMING.set(True)
    try:
        yield
    finally:
        _WARMING.reset(token)


def on_order_connections() -> bool:
    return _WARMING.get() or signing_an_order()


def pooled(name: str) -> property:
    """A client attribute kept once per pool: the order pool's in an order's context, ccxt's own elsewhere."""
    general, orders = f"_arbitrage_{name}", f"_arbitrage_order_{name}"

    def get(self: Any) -> Any:
        return getattr(self, orders if on_order_connections() else general, None)

    def set_(self: Any, value: Any) -> None:
        setattr(self, orders if on_order_connections() else general, value)

    return property(get, set_)


async def close_order_connections(client: Any) -> None:
    """Close the order pool's session and connector (ccxt's `close` closes its own pool)."""
    with warming_order_connections():
        session, connector = client.session, client.tcp_connector
        client.session = client.tcp_connector = None
    if session is not None and client.own_session:
        await session.close()
    if connector is not None:
        await connector.close()


async def hold_order_connection(client: Any, origin: str, until: datetime) -> None:
    """Take one connection of the orders' pool to `origin` (an idle one, else a new one, TLS handshake included)
    and hold it until `until`. The warm-ups of one send each hold one at the same time, so the send finds as many
    idle connections as it has orders; a request per warm-up could instead reuse a connection another warm-up had
    just freed (one delayed by its budget does). No request is sent: nothing counts against the exchange's limits."""
    with warming_order_connections():
        client.open(True)
        session = client.session
    loop = asyncio.get_running_loop()
    left = (until - datetime.now(UTC)).total_seconds()
    request = aiohttp.ClientRequest("GET", URL(origin), loop=loop)
    # A connection not open by the send is no use to it: the order opens its own meanwhile. Giving up then keeps
    # holds from piling up on an exchange that stalls its handshakes.
    timeout = aiohttp.ClientTimeout(total=client.timeout / 1000, connect=max(left, 0.001))
    connection = await session.connector.connect(request, [], timeout)
    try:
        await asyncio.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
    finally:
        connection.release()


def unlimited_connections(connector: aiohttp.BaseConnector) -> None:
    """ccxt creates its connector with aiohttp's default limit of 100 connections. In the orders' pool a send's
    warm-ups hold one each while the slot before may still have its orders in flight, and an order over the limit
    would wait for a connection, signed, its receive window running: the orders' pool has no limit. (aiohttp
    has no setter; the attribute is read on every connect.)"""
    connector._limit = 0


def proxied(client: Any, url: str) -> bool:
    """Whether ccxt sends this client's requests through a proxy (whose connections `hold_order_connection`
    does not know how to open)."""
    try:
        return bool(client.check_proxy_url_settings(url, "GET", None, None) or client.aiohttp_proxy
                    or any(client.check_proxy_settings(url, "GET", None, None)))
    except Exception:  # conflicting proxy settings: ccxt's own request will say so
        return True
