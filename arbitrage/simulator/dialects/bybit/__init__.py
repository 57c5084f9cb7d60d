"""Bybit v5 dialect (``/v5/...``, category=linear, unified trading account)."""

from __future__ import annotations

from arbitrage.simulator.dialects.bybit import account, market, trade  # noqa: F401  (register routes)
from arbitrage.simulator.dialects.bybit.dialect import DIALECT

__all__ = ["DIALECT"]
