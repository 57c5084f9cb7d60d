"""MEXC contract (swap) dialect: ``/api/v1/contract/...``, ``/api/v1/private/...`` + the spot v3 calls ccxt makes."""

from __future__ import annotations

from arbitrage.simulator.dialects.mexc import orders, private, public  # noqa: F401  (register routes)
from arbitrage.simulator.dialects.mexc.dialect import DIALECT

__all__ = ["DIALECT"]
