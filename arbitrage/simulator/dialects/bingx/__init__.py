"""BingX perpetual swap (USDT-M, ``/openApi/swap/...``) dialect + the spot/coin-M/wallet calls of ccxt's
load_markets."""

from __future__ import annotations

from arbitrage.simulator.dialects.bingx import account, orders, public  # noqa: F401  (register routes)
from arbitrage.simulator.dialects.bingx.dialect import DIALECT

__all__ = ["DIALECT"]
