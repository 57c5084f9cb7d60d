"""Every pure fact about a supported exchange, one row each. Adding an exchange starts here.

Read by the domain (funding signs, default leverage caps), the settings (aliases, minimum leads) and the request
budget (documented rate limits). What needs ccxt (the connector class and its quirks) lives in `exchanges/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class LimitScope(StrEnum):
    ACCOUNT = "account"  # per API key / UID
    IP = "ip"
    ENDPOINT = "endpoint"  # per account and endpoint


@dataclass(frozen=True)
class RateLimit:
    """`amount` requests (or request weight, where the exchange weighs endpoints) per `seconds`, per `scope`."""

    amount: int
    seconds: float
    scope: LimitScope
    weighted: bool = False

    def scaled(self, scale: float, reserved: int = 0) -> int:
        """The amount for an account whose limits are `scale` times the documented ones, less `reserved`."""
        return max(int((self.amount - reserved) * scale), 1)


@dataclass(frozen=True)
class VenueFacts:
    id: str  # ccxt's id, stored in the database and used in settings
    aliases: tuple[str, ...]
    # Multiply the funding amount the exchange reports (as ccxt passes it through) to get + received / - paid.
    funding_amount_sign: int
    # Used when the exchange cannot tell a symbol's maximum leverage.
    default_max_leverage: int
    # Positions opened less than this before settlement earn no funding there.
    min_lead_seconds: int
    # Documented non-VIP limits: on order placement, and on every request.
    order_limits: tuple[RateLimit, ...]
    request_limits: tuple[RateLimit, ...]


_A, _I, _E = LimitScope.ACCOUNT, LimitScope.IP, LimitScope.ENDPOINT

VENUES = MappingProxyType({venue.id: venue for venue in (
    VenueFacts(
        "binanceusdm", aliases=("binance",), funding_amount_sign=1,  # `income`: + received
        default_max_leverage=125, min_lead_seconds=0,
        order_limits=(RateLimit(300, 10, _A), RateLimit(1200, 60, _A)),
        request_limits=(RateLimit(2400, 60, _I, weighted=True),),
    ),
    VenueFacts(
        "bybit", aliases=(), funding_amount_sign=-1,  # ccxt maps the amount to `execFee`, a fee: + = paid
        default_max_leverage=100, min_lead_seconds=0,
        order_limits=(RateLimit(10, 1, _A),),
        request_limits=(RateLimit(600, 5, _I),),
    ),
    VenueFacts(
        "bingx", aliases=(), funding_amount_sign=1,  # `income`: + received
        default_max_leverage=125,
        min_lead_seconds=30,  # BingX does not count positions opened in the last 30 s before settlement
        order_limits=(RateLimit(5, 1, _A),),
        request_limits=(RateLimit(2000, 10, _I),),
    ),
    VenueFacts(
        "mexc", aliases=(), funding_amount_sign=1,  # `funding`: + received
        default_max_leverage=50, min_lead_seconds=0,
        order_limits=(RateLimit(20, 2, _A),),
        request_limits=(RateLimit(20, 2, _E),),
    ),
)})

EXCHANGE_IDS: tuple[str, ...] = tuple(VENUES)
# User input may say `binance`; everything stored or configured uses ccxt's id `binanceusdm`.
EXCHANGE_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {alias: venue.id for venue in VENUES.values() for alias in venue.aliases}
)
