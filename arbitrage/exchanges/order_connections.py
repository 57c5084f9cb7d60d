"""Orders have connections of their own: a second HTTP session per ccxt client, used only by order requests and
by the warm-ups before a trigger.

A warm-up leaves an open connection in the pool for the order that follows it. In one shared pool, any request
in flight when the order goes (a previous slot's fill read, a funding poll, a lookup) may hold that connection,
and the order then opens a new one and pays the handshake: on a real link 2 to 3 round trips, which is the whole
leg gap. In a pool only orders and warm-ups use, a slot's warm-ups open one connection per leg and the slot's
orders find them idle.

ccxt reads `self.session` (and creates it, with `self.tcp_connector`, when missing) synchronously as a request
starts, so the client class makes both attributes depend on the task's context: an order request, or a request
made inside `warming_order_connections()`, sees the order pool's session; every other request sees ccxt's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from arbitrage.exchanges.signing import current_order_window

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
    return _WARMING.get() or current_order_window() is not None


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
