"""Binance USDⓈ-M futures dialect (``/fapi/...`` + the ``/sapi`` calls of ccxt's load_markets)."""

from __future__ import annotations

from arbitrage.simulator.dialects.binanceusdm import private, public  # noqa: F401  (register routes)
from arbitrage.simulator.dialects.binanceusdm.dialect import DIALECT

__all__ = ["DIALECT"]
