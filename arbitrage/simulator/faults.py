"""Fault injection per exchange and endpoint: error bodies, latency, 5xx pages, dropped connections, lost replies.

A fault matches on exchange, HTTP method, path (glob like ``/fapi/v1/*`` or a regex starting with ``^``) and
optionally on request parameters (all given must be equal as strings). It fires for the next ``times`` matching
requests (``None`` = always). The first registered matching fault wins.

``latency`` holds a request before it is processed: the exchange's timestamp rule is checked after the hold, so a
held order executes late if its receive window allows it, and is refused with the exchange's timestamp error
otherwise.

``index_lag`` and ``partial_fill`` act on the order a request executes (counted only when one executes, so lookups
and rejected orders do not use them up). ``index_lag`` hides the order from every lookup (by id, by client id,
order lists) for ``lag_ms`` after it executed, as an exchange whose order index lags behind its matching engine.
``partial_fill`` does not touch the HTTP exchange. It caps the next ``times`` matching ORDERS (counted
only when an order is actually executed, so lookups and rejected orders do not use it up) to ``fill_ratio`` of the
requested quantity or to ``fill_qty`` (venue order units: contracts on MEXC), rounded down to the step; the rest
expires as on a thin book, and the dialect reports the order as its exchange reports a partial market fill.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from arbitrage.simulator.errors import ErrorKind


class FaultAction(StrEnum):
    ERROR = "error"  # the dialect's own error for error_kind, or a raw status+body; request NOT processed
    LATENCY = "latency"  # only delay (latency_ms), then process normally
    HTTP_5XX = "http_5xx"  # non-JSON error page with status (default 503); not processed
    DROP = "drop"  # close the connection without any response; not processed
    LOST_RESPONSE = "lost_response"  # PROCESSED, then the reply is delayed (lost_delay_ms) or the connection dropped
    PARTIAL_FILL = "partial_fill"  # the order executes only fill_ratio / fill_qty of its quantity; the rest expires
    INDEX_LAG = "index_lag"  # the order executes, but lookups say "not found" for lag_ms after it executed


# Faults that act on the order a request executes, counted only when an order is actually executed.
ORDER_LEVEL = frozenset({FaultAction.PARTIAL_FILL, FaultAction.INDEX_LAG})


class LostMode(StrEnum):
    DELAY = "delay"
    DROP = "drop"


@dataclass
class Fault:
    action: FaultAction
    exchange: str = "*"
    method: str = "*"
    path: str = "*"
    params: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    error_kind: ErrorKind | None = None
    message: str | None = None
    status: int | None = None
    body: str | None = None
    latency_ms: int = 0
    lost_mode: LostMode = LostMode.DELAY
    lost_delay_ms: int = 30000
    fill_ratio: Decimal | None = None  # partial_fill: share of the requested quantity that fills, 0 <= r < 1
    fill_qty: Decimal | None = None  # partial_fill: the most that fills, in venue order units
    lag_ms: int = 0  # index_lag: how long lookups do not find the executed order
    id: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        self.action = FaultAction(self.action)
        self.lost_mode = LostMode(self.lost_mode)
        if self.error_kind is not None:
            self.error_kind = ErrorKind(self.error_kind)
        if self.action is FaultAction.ERROR and self.error_kind is None and (self.status is None or self.body is None):
            raise ValueError("an 'error' fault needs error_kind, or both status and body")
        self._check_fill_limit()
        if self.action is FaultAction.INDEX_LAG and self.lag_ms <= 0:
            raise ValueError("an 'index_lag' fault needs lag_ms > 0")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or null for always)")
        self.params = {str(key): str(value) for key, value in self.params.items()}

    def _check_fill_limit(self) -> None:
        if self.fill_ratio is not None:
            self.fill_ratio = Decimal(str(self.fill_ratio))
        if self.fill_qty is not None:
            self.fill_qty = Decimal(str(self.fill_qty))
        if self.action is not FaultAction.PARTIAL_FILL:
            if self.fill_ratio is not None or self.fill_qty is not None:
                raise ValueError("fill_ratio and fill_qty belong to a 'partial_fill' fault")
            return
        if (self.fill_ratio is None) == (self.fill_qty is None):
            raise ValueError("a 'partial_fill' fault needs exactly one of fill_ratio or fill_qty")
        if self.fill_ratio is not None and not Decimal(0) <= self.fill_ratio < Decimal(1):
            raise ValueError("fill_ratio must be >= 0 and < 1")
        if self.fill_qty is not None and self.fill_qty < 0:
            raise ValueError("fill_qty must be >= 0")

    def max_fill_quantity(self, quantity: Decimal) -> Decimal:
        """The cap a partial_fill fault puts on an order of ``quantity`` (rounded to the step by the engine)."""
        if self.fill_qty is not None:
            return self.fill_qty
        assert self.fill_ratio is not None
        return quantity * self.fill_ratio

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        allowed = {name for name in cls.__dataclass_fields__ if name not in ("id", "hits")}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}; allowed {sorted(allowed)}")
        return cls(**data)

    def matches(self, exchange: str, method: str, path: str, params: dict[str, Any]) -> bool:
        if self.exchange not in ("*", exchange):
            return False
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.path.startswith("^"):
            if not re.search(self.path, path):
                return False
        elif not (self.path == path or fnmatch.fnmatchcase(path, self.path)):
            return False
        return all(str(params.get(key)) == value for key, value in self.params.items())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action.value,
            "exchange": self.exchange,
            "method": self.method,
            "path": self.path,
            "params": self.params,
            "times": self.times,
            "hits": self.hits,
            "error_kind": self.error_kind.value if self.error_kind else None,
            "message": self.message,
            "status": self.status,
            "body": self.body,
            "latency_ms": self.latency_ms,
            "lost_mode": self.lost_mode.value,
            "lost_delay_ms": self.lost_delay_ms,
            "fill_ratio": str(self.fill_ratio) if self.fill_ratio is not None else None,
            "fill_qty": str(self.fill_qty) if self.fill_qty is not None else None,
            "lag_ms": self.lag_ms,
        }


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 0

    def add(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """``add(Fault(...))`` or ``add(action="error", exchange="binanceusdm", path="/fapi/v1/order", ...)``."""
        if fault is None:
            fault = Fault.from_dict(fields)
        self._next_id += 1
        fault.id = self._next_id
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [fault for fault in self._faults if fault.id != fault_id]
        return len(self._faults) != before

    def clear(self, exchange: str | None = None) -> int:
        before = len(self._faults)
        self._faults = [fault for fault in self._faults if exchange is not None and fault.exchange != exchange]
        return before - len(self._faults)

    def list(self) -> list[Fault]:
        return list(self._faults)

    def take(self, exchange: str, method: str, path: str, params: dict[str, Any]) -> Fault | None:
        """The first matching request-level fault (not an order-level one), counted as used."""
        for fault in self._faults:
            if fault.action not in ORDER_LEVEL and fault.matches(exchange, method, path, params):
                self.use(fault)
                return fault
        return None

    def order_fault(
        self, action: FaultAction, exchange: str, method: str, path: str, params: dict[str, Any]
    ) -> Fault | None:
        """The first matching order-level fault of `action`, NOT yet counted: call :meth:`use` once the order
        executed."""
        for fault in self._faults:
            if fault.action is action and fault.matches(exchange, method, path, params):
                return fault
        return None

    def use(self, fault: Fault) -> None:
        """Count one use of ``fault``; it is removed once its ``times`` are spent."""
        fault.hits += 1
        if fault.times is not None and fault.hits >= fault.times and fault in self._faults:
            self._faults.remove(fault)
