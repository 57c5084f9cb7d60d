"""Each exchange's documented request limits, enforced per account (API key) and per IP over rolling windows.

A rule counts the requests it matches (or their weight) per key: the API key (``account``), the client's IP
(``ip``), or the API key when the request carries one and the IP otherwise (``account_or_ip``); ``per_endpoint``
keeps one counter per method and path. A request over any rule's budget is refused with that rule's error kind
and is not processed; a refused request is not counted either, so the windows slide as the accepted requests age.

Windows are rolling (a sliding log: the sum of what was accepted in the last ``window_ms``), the strictest reading
of the documented limits: Bybit documents rolling windows; Binance resets its counters on fixed interval
boundaries, which allows a short burst of up to twice the limit across a boundary that a rolling window refuses.

Scenario: ``settings.rate_limits`` absent → the documented non-VIP defaults below; ``false`` → off;
``{"scale": 10}`` multiplies every limit; ``{"rules": {"order_create": {"limit": 3, "window_ms": 200}}}`` changes
named rules (``enabled: false`` inside a rule turns that rule off).
"""

from __future__ import annotations

import fnmatch
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from arbitrage.simulator.errors import ErrorKind


class Scope(StrEnum):
    ACCOUNT = "account"
    IP = "ip"
    ACCOUNT_OR_IP = "account_or_ip"


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_ms: int
    scope: Scope
    kind: ErrorKind  # the answer when the budget is spent
    method: str = "*"
    path: str = "*"  # glob over the path below the exchange prefix
    signed: bool | None = None  # True: only requests that carry an API key; False: only those without one
    per_endpoint: bool = False
    weighted: bool = False  # cost from the exchange's request-weight table instead of 1

    def matches(self, method: str, path: str, has_key: bool) -> bool:
        if self.signed is not None and self.signed != has_key:
            return False
        if self.method != "*" and self.method != method:
            return False
        return self.path == "*" or fnmatch.fnmatchcase(path, self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "limit": self.limit, "window_ms": self.window_ms, "scope": self.scope.value,
            "kind": self.kind.value, "method": self.method, "path": self.path, "signed": self.signed,
            "per_endpoint": self.per_endpoint, "weighted": self.weighted,
        }


K = ErrorKind
BINANCE_ORDER = "/fapi/v1/order"
DOCUMENTED_RULES: dict[str, tuple[Rule, ...]] = {
    "binanceusdm": (
        Rule("orders_10s", 300, 10_000, Scope.ACCOUNT, K.ORDER_RATE_LIMITED, "POST", BINANCE_ORDER),
        Rule("orders_1m", 1200, 60_000, Scope.ACCOUNT, K.ORDER_RATE_LIMITED, "POST", BINANCE_ORDER),
        Rule("ip_weight", 2400, 60_000, Scope.IP, K.RATE_LIMITED, weighted=True),
    ),
    "bybit": (
        Rule("order_create", 10, 1_000, Scope.ACCOUNT, K.RATE_LIMITED, "POST", "/v5/order/create"),
        Rule("ip", 600, 5_000, Scope.IP, K.IP_RATE_LIMITED),
    ),
    "bingx": (
        # 10 / s since BingX raised it from 5 / s on 2025-10-16
        Rule("orders", 10, 1_000, Scope.ACCOUNT, K.ORDER_RATE_LIMITED, "POST", "/openApi/swap/v2/trade/order"),
        Rule("ip_account", 2000, 10_000, Scope.IP, K.IP_RATE_LIMITED, signed=True),  # the account-interface group
        Rule("ip_market", 500, 10_000, Scope.IP, K.IP_RATE_LIMITED, signed=False),  # the market-data group
    ),
    "mexc": (Rule("endpoint", 20, 2_000, Scope.ACCOUNT_OR_IP, K.RATE_LIMITED, per_endpoint=True),),
}

# Binance USDⓈ-M request weights (IP limit) of the endpoints served here; a new order weighs 0 on the IP limit and
# counts on the order limits only. (weight, weight without a symbol)
BINANCE_WEIGHTS: dict[tuple[str, str], tuple[int, int]] = {
    ("POST", BINANCE_ORDER): (0, 0),
    ("GET", BINANCE_ORDER): (1, 1),
    ("DELETE", BINANCE_ORDER): (1, 1),
    ("GET", "/fapi/v1/openOrders"): (1, 40),
    ("GET", "/fapi/v1/allOrders"): (5, 5),
    ("GET", "/fapi/v3/positionRisk"): (5, 5),
    ("GET", "/fapi/v2/account"): (5, 5),
    ("GET", "/fapi/v3/account"): (5, 5),
    ("GET", "/fapi/v2/balance"): (5, 5),
    ("GET", "/fapi/v3/balance"): (5, 5),
    ("GET", "/fapi/v1/income"): (30, 30),
    ("GET", "/fapi/v1/userTrades"): (5, 5),
    ("GET", "/fapi/v1/positionSide/dual"): (30, 30),
    ("POST", "/fapi/v1/positionSide/dual"): (1, 1),
    ("GET", "/fapi/v1/symbolConfig"): (5, 5),
    ("GET", "/fapi/v1/leverageBracket"): (1, 1),
    ("GET", "/fapi/v1/premiumIndex"): (1, 10),
    ("GET", "/fapi/v1/ticker/24hr"): (1, 40),
    ("GET", "/fapi/v1/ticker/price"): (1, 2),
}


# GET /fapi/v1/depth weighs by its limit: 5-50 → 2, 100 → 5, 500 → 10, 1000 → 20.
BINANCE_DEPTH_WEIGHTS = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}


def request_weight(exchange_id: str, method: str, path: str, params: Mapping[str, Any]) -> int:
    if exchange_id != "binanceusdm":
        return 1
    if (method, path) == ("GET", "/fapi/v1/depth"):
        limit = str(params.get("limit", 500))
        return BINANCE_DEPTH_WEIGHTS.get(int(limit), 10) if limit.isdigit() else 10
    with_symbol, without = BINANCE_WEIGHTS.get((method, path), (1, 1))
    return with_symbol if params.get("symbol") else without


@dataclass(frozen=True)
class RateLimitConfig:
    rules: tuple[Rule, ...] = ()
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "rules": [rule.to_dict() for rule in self.rules]}


def rate_limit_config(exchange_id: str, spec: Any = None) -> RateLimitConfig:
    """The venue's limits from its scenario setting (None → documented defaults; see the module docstring)."""
    rules = DOCUMENTED_RULES.get(exchange_id, ())
    if spec is None or spec is True:
        return RateLimitConfig(rules)
    if spec is False:
        return RateLimitConfig(rules, enabled=False)
    if not isinstance(spec, Mapping):
        raise ValueError("rate_limits must be true, false or a mapping")
    unknown = set(spec) - {"enabled", "scale", "rules"}
    if unknown:
        raise ValueError(f"rate_limits: unknown keys {sorted(unknown)}; allowed enabled, scale, rules")
    scale = float(spec.get("scale", 1))
    if scale <= 0:
        raise ValueError("rate_limits.scale must be positive")
    rules = tuple(replace(rule, limit=max(1, int(rule.limit * scale))) for rule in rules)
    changes = dict(spec.get("rules") or {})
    by_name = {rule.name: rule for rule in rules}
    missing = set(changes) - set(by_name)
    if missing:
        raise ValueError(f"rate_limits.rules: {exchange_id} has no rules {sorted(missing)}; it has {sorted(by_name)}")
    kept = []
    for rule in rules:
        change = dict(changes.get(rule.name) or {})
        if change.pop("enabled", True) is False:
            continue
        bad = set(change) - {"limit", "window_ms"}
        if bad:
            raise ValueError(f"rate_limits.rules.{rule.name}: only limit, window_ms and enabled can change")
        updated = replace(rule, **{key: int(value) for key, value in change.items()})
        if updated.limit < 0 or updated.window_ms <= 0:
            raise ValueError(f"rate_limits.rules.{rule.name}: limit must be >= 0 and window_ms > 0")
        kept.append(updated)
    return RateLimitConfig(tuple(kept), enabled=bool(spec.get("enabled", True)))


@dataclass
class Window:
    """Rolling sum of accepted costs over the last ``window_ms``."""

    window_ms: int
    entries: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0

    def used(self, now_ms: float) -> int:
        while self.entries and self.entries[0][0] <= now_ms - self.window_ms:
            self.total -= self.entries.popleft()[1]
        return self.total

    def add(self, now_ms: float, cost: int) -> None:
        if cost:
            self.entries.append((now_ms, cost))
            self.total += cost

    def free_in_ms(self, now_ms: float) -> float:
        return max(0.0, self.entries[0][0] + self.window_ms - now_ms) if self.entries else 0.0


@dataclass(frozen=True)
class Usage:
    rule: Rule
    used: int  # after this request
    reset_in_ms: float


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    used: int
    cost: int
    retry_after_ms: float

    @property
    def message(self) -> str:
        return f"{self.rule.name}: {self.used} + {self.cost} over {self.rule.limit} per {self.rule.window_ms} ms"

    @property
    def details(self) -> dict[str, Any]:
        return {"limit": self.rule.limit, "window_ms": self.rule.window_ms, "rule": self.rule.name}


def monotonic_ms() -> float:
    return time.monotonic_ns() / 1_000_000


class RateLimiter:
    """Counters of every venue; the rules come from each request's venue config, so a reset scenario applies."""

    def __init__(self, clock: Callable[[], float] = monotonic_ms) -> None:
        self.clock = clock
        self._windows: dict[tuple[str, str, str, str], Window] = {}

    def admit(
        self, exchange_id: str, config: RateLimitConfig, method: str, path: str, params: Mapping[str, Any],
        api_key: str | None, ip: str, at_ms: float | None = None,
    ) -> tuple[Refusal | None, list[Usage]]:
        """Count the request against every matching rule, or refuse it (counting nothing) if one is spent.
        `at_ms`: when it arrived (on this limiter's clock), if not now. One event loop serves every venue, so a
        request may be processed well after it arrived; counting it then would squeeze the arrivals of a busy
        moment closer together than they came. Requests counted out of arrival order are all kept until the
        oldest of them leaves the window, which only errs towards refusing."""
        if not config.enabled:
            return None, []
        now = self.clock() if at_ms is None else at_ms
        planned: list[tuple[Rule, Window, int]] = []
        for rule in config.rules:
            key = self._key(rule, api_key, ip)
            if key is None or not rule.matches(method, path, api_key is not None):
                continue
            cost = request_weight(exchange_id, method, path, params) if rule.weighted else 1
            endpoint = f"{method} {path}" if rule.per_endpoint else ""
            window = self._windows.setdefault((exchange_id, rule.name, key, endpoint), Window(rule.window_ms))
            window.window_ms = rule.window_ms
            used = window.used(now)
            if used + cost > rule.limit:
                return Refusal(rule, used, cost, window.free_in_ms(now)), []
            planned.append((rule, window, cost))
        usages = []
        for rule, window, cost in planned:
            window.add(now, cost)
            usages.append(Usage(rule, window.used(now), window.free_in_ms(now)))
        return None, usages

    @staticmethod
    def _key(rule: Rule, api_key: str | None, ip: str) -> str | None:
        if rule.scope is Scope.IP:
            return f"ip:{ip}"
        if api_key is not None:
            return f"key:{api_key}"
        return f"ip:{ip}" if rule.scope is Scope.ACCOUNT_OR_IP else None

    def clear(self, exchange_id: str | None = None) -> None:
        """Forget the counts (of one exchange)."""
        self._windows = {key: window for key, window in self._windows.items() if exchange_id not in (None, key[0])}

    def usage(self) -> dict[str, list[dict[str, Any]]]:
        """Current counts per exchange (admin state): rule, key (``key:<api key>`` or ``ip:<address>``), used."""
        now = self.clock()
        result: dict[str, list[dict[str, Any]]] = {}
        for (exchange_id, rule_name, key, endpoint), window in self._windows.items():
            used = window.used(now)
            if used:
                row = {"rule": rule_name, "key": key, "used": used, "window_ms": window.window_ms}
                if endpoint:
                    row["endpoint"] = endpoint
                result.setdefault(exchange_id, []).append(row)
        return result
