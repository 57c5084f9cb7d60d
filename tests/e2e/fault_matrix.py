"""A fault matrix for the real daemon against the simulator: step × leg × fault kind × the faulted exchange.

Every cell is one subscription on a symbol of its own (so that cells never share a position), all of a batch at
one funding instant in one daemon. A cell's faults are keyed to its own requests: orders by their client order
id, other requests by the cell's symbol. After the run each cell is checked against the exchange: no position
unless the row says NEEDS_ATTENTION, every order row as the simulator has it, no client order id used twice, and an
ERROR or NEEDS_ATTENTION message that names the faulted exchange.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from e2e_harness import ORDER_PATHS, exchange_symbol

from arbitrage.db.models import Order, Subscription
from arbitrage.domain import Leg, OrderPurpose
from arbitrage.domain.order_ids import client_order_id
from arbitrage.domain.status import OrderStatus, Status
from arbitrage.simulator.order_requests import ORDER_FAULT_KINDS as ORDER_KINDS
from arbitrage.simulator.server import SimulatorServer

EXCHANGES = ("binanceusdm", "bybit", "bingx", "mexc")
PARTNER = {exchange: EXCHANGES[(i + 1) % len(EXCHANGES)] for i, exchange in enumerate(EXCHANGES)}
# The lead leaves room to prove an open never arrived (timeout, window, margin) and send it again.
LEAD_SECONDS = 12
SETTINGS = {
    "order_timeout_seconds": 1.5,
    "leverage_sync_ahead_seconds": 4,
    "funding_confirm_timeout_seconds": 5,
    # Every cell trades at one instant, far over the exchanges' order limits; the matrix is about faults, so the
    # budgets (and the simulator's limits, see matrix_scenario) are raised a hundredfold.
    "every_exchange": {"rate_limit_scale": 100},
}
ORDER_ID_PARAM = {"binanceusdm": "newClientOrderId", "bybit": "orderLinkId", "bingx": "clientOrderID",
                  "mexc": "externalOid"}
LOOKUP = {  # GET by client order id: (path, param) or a path regex carrying the id
    "binanceusdm": ("/fapi/v1/order", "origClientOrderId"),
    "bybit": ("/v5/order/realtime", "orderLinkId"),
    "bingx": ("/openApi/swap/v2/trade/order", "clientOrderId"),
    "mexc": ("^/api/v1/private/order/external/{symbol}/{client_id}$", None),
}
LEVERAGE_PATHS = {"binanceusdm": "/fapi/v1/leverage", "bybit": "/v5/position/set-leverage",
                  "bingx": "/openApi/swap/v2/trade/leverage", "mexc": "/api/v1/private/position/change_leverage"}
FUNDING_PATHS = {"binanceusdm": "/fapi/v1/income", "bybit": "/v5/execution/list",
                 "bingx": "/openApi/swap/v2/user/income", "mexc": "/api/v1/private/position/funding_records"}
POSITION_PATHS = {"binanceusdm": "/fapi/v3/positionRisk", "bybit": "/v5/position/list",
                  "bingx": "/openApi/swap/v2/user/positions", "mexc": "/api/v1/private/position/open_positions"}

READ_KINDS: dict[str, dict[str, Any]] = {
    "rejected": {"action": "error", "error_kind": "INVALID_PARAMETER"},
    "503_once": {"action": "http_5xx", "status": 503},
    "dropped": {"action": "drop", "times": 2},  # aiohttp sends an idempotent request again once by itself
    "rate_limited_once": {"action": "error", "error_kind": "RATE_LIMITED"},
}


@dataclass(frozen=True)
class Cell:
    step: str  # open, close, leverage, funding, lookup, position
    leg: Leg  # the faulted leg
    kind: str
    exchange: str  # the faulted leg's exchange
    expected: Status

    @property
    def primary(self) -> str:
        return self.exchange if self.leg is Leg.PRIMARY else PARTNER[self.exchange]

    @property
    def hedge(self) -> str:
        return PARTNER[self.exchange] if self.leg is Leg.PRIMARY else self.exchange

    @property
    def name(self) -> str:
        return f"{self.step}/{self.leg.lower()}/{self.kind}/{self.exchange}"


def order_cells(step: str) -> list[Cell]:
    """Open or close faults: a rejected open ends ERROR (the other leg unwound); every other fault is transient
    and, with time before the deadline, ends COMPLETED (a rejected close is sent again)."""
    return [
        Cell(step, leg, kind, exchange,
             Status.ERROR if (step == "open" and kind == "rejected") else Status.COMPLETED)
        for leg in (Leg.PRIMARY, Leg.HEDGE) for kind in ORDER_KINDS for exchange in EXCHANGES
    ]


def other_cells() -> list[Cell]:
    cells = [
        Cell("leverage", leg, kind, exchange, Status.ERROR if kind == "rejected" else Status.COMPLETED)
        for leg in (Leg.PRIMARY, Leg.HEDGE) for kind in READ_KINDS for exchange in EXCHANGES
    ]
    cells += [Cell("funding", Leg.PRIMARY, kind, exchange, Status.COMPLETED)
              for kind in READ_KINDS for exchange in EXCHANGES]
    cells += [Cell("lookup", Leg.PRIMARY, kind, exchange, Status.COMPLETED)
              for kind in ("503_once", "rate_limited_once", "dropped") for exchange in EXCHANGES]
    cells += [Cell("position", Leg.PRIMARY, kind, exchange, Status.COMPLETED)
              for kind in ("503_once", "dropped") for exchange in EXCHANGES]
    return cells


def cell_symbols(count: int) -> list[str]:
    return [f"X{index:03d}/USDT:USDT" for index in range(count)]


def matrix_scenario(base: dict[str, Any], symbols: list[str], rate_limit_scale: float | None = 100) -> dict[str, Any]:
    """The default scenario with one BTC-like instrument per cell on every venue, and room in every account.

    Every cell trades at one funding instant, a burst far over the exchanges' order limits; this matrix is about
    faults, not rate limits, so the simulator's limits are raised a hundredfold (None: the documented ones)."""
    scenario = copy.deepcopy(base)
    for venue in scenario["venues"].values():
        if rate_limit_scale is not None:
            venue.setdefault("settings", {})["rate_limits"] = {"scale": rate_limit_scale}
        template = next(i for i in venue["instruments"] if i["symbol"] == "BTC/USDT:USDT")
        venue["instruments"] += [{**copy.deepcopy(template), "symbol": symbol} for symbol in symbols]
        for account in venue["accounts"]:
            account["balance"] = "10000000"
    return scenario


def add_faults(sim: SimulatorServer, cell: Cell, subscription: Subscription, symbol: str) -> None:
    exchange, venue_symbol = cell.exchange, exchange_symbol(cell.exchange, symbol)
    purpose = OrderPurpose.CLOSE if cell.step == "close" else OrderPurpose.OPEN
    order_id = client_order_id(subscription.id, subscription.created_at, cell.leg, purpose)
    on_order = {"exchange": exchange, "method": "POST", "path": ORDER_PATHS[exchange],
                "params": {ORDER_ID_PARAM[exchange]: order_id}}
    on_symbol = {"exchange": exchange, "params": {"symbol": venue_symbol}}
    if cell.step in ("open", "close"):
        for fault in ORDER_KINDS[cell.kind]:
            sim.faults.add(**on_order, **fault)
    elif cell.step == "lookup":  # the open's answer is lost, then its lookups fail for a while
        sim.faults.add(**on_order, action="lost_response", lost_mode="drop")
        path, param = LOOKUP[exchange]
        fault = {**READ_KINDS[cell.kind], "times": 2}
        if param is None:
            sim.faults.add(exchange=exchange, method="GET", **fault,
                           path=path.format(symbol=venue_symbol, client_id=order_id))
        else:
            sim.faults.add(exchange=exchange, method="GET", path=path, params={param: order_id}, **fault)
    elif cell.step == "leverage":
        sim.faults.add(**on_symbol, method="POST", path=LEVERAGE_PATHS[exchange], **READ_KINDS[cell.kind])
    elif cell.step == "funding":
        times = {"times": None} if cell.kind == "rejected" else {}
        sim.faults.add(**on_symbol, method="GET", path=FUNDING_PATHS[exchange], **{**READ_KINDS[cell.kind], **times})
    elif cell.step == "position":
        # BingX's position list takes no symbol: its fault hits the next position read on the account.
        where = {"exchange": exchange} if exchange == "bingx" else on_symbol
        sim.faults.add(**where, method="GET", path=POSITION_PATHS[exchange], **READ_KINDS[cell.kind])
    else:
        raise ValueError(cell.step)


def problems(sim: SimulatorServer, cell: Cell, subscription: Subscription, orders: list[Order]) -> list[str]:
    """What contradicts the exchanges in one cell's rows (empty: the rows tell the truth)."""
    found: list[str] = []
    status = subscription.status
    if status is not cell.expected:
        found.append(f"status {status} ({subscription.error_message}), expected {cell.expected}")
    if status in (Status.ERROR, Status.NEEDS_ATTENTION) and cell.exchange not in (subscription.error_message or ""):
        found.append(f"the message does not name {cell.exchange}: {subscription.error_message}")
    ids = [order.client_order_id for order in orders]
    if len(ids) != len(set(ids)):
        found.append(f"a client order id was used twice: {ids}")
    for exchange, symbol in ((subscription.primary_exchange, subscription.primary_symbol),
                             (subscription.hedge_exchange, subscription.hedge_symbol)):
        venue = sim.engine.venue(exchange)
        if venue.position_views(venue.default_account(), symbol) and status is not Status.NEEDS_ATTENTION:
            found.append(f"{exchange} still holds {symbol} while the row says {status}")
    for order in orders:
        found += _row_against_exchange(sim, order, status)
    return found


def _row_against_exchange(sim: SimulatorServer, order: Order, status: Status) -> list[str]:
    venue = sim.engine.venue(order.exchange)
    executed = venue.default_account().orders_by_client_id.get(order.client_order_id)
    size = venue.instrument(order.symbol).contract_size
    filled_there = executed.executed_qty * size if executed is not None else Decimal(0)
    where = f"{order.exchange} {order.client_order_id} ({order.status}, filled {order.filled})"
    if order.status in (OrderStatus.PENDING, OrderStatus.SENT):
        return [f"{where}: left in doubt"]
    if order.status is OrderStatus.UNKNOWN:
        return [] if status is Status.NEEDS_ATTENTION else [f"{where}: unknown on a {status} row"]
    if order.filled != filled_there:
        return [f"{where}: the exchange filled {filled_there}"]
    if executed is not None and filled_there > 0:
        if order.average_price != executed.avg_price:
            return [f"{where}: price {order.average_price}, the exchange's {executed.avg_price}"]
        if order.fee != executed.fee:
            return [f"{where}: fee {order.fee}, the exchange's {executed.fee}"]
    return []


def summary(results: dict[Cell, Subscription]) -> str:
    """One line per cell: step/leg/kind/exchange → status, and the count of COMPLETED transient cells."""
    lines = [f"{cell.name:<48} {subscription.status}" for cell, subscription in results.items()]
    transient = [cell for cell in results if cell.expected is Status.COMPLETED]
    completed = sum(results[cell].status is Status.COMPLETED for cell in transient)
    return "\n".join([*lines, f"transient cells COMPLETED: {completed}/{len(transient)}"])


CellCheck = Callable[[Cell, Subscription, list[Order]], list[str]]
