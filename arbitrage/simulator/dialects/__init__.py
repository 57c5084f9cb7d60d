"""Dialect registry: ``arbitrage.simulator.dialects.<exchange_id>`` is imported lazily and must export ``DIALECT``.

A dialect whose module does not exist yet is reported as unavailable (the server answers 501 for it) instead of
breaking the import of the simulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arbitrage.simulator.dialects.common import Dialect

KNOWN_DIALECTS = ("binanceusdm", "bybit", "bingx", "mexc")

_cache: dict[str, Dialect | None] = {}


def get_dialect(exchange_id: str) -> Dialect | None:
    """The dialect for ``exchange_id`` or None when no such module exists. Other import errors propagate."""
    if exchange_id in _cache:
        return _cache[exchange_id]
    if not exchange_id.isidentifier():
        return None
    module_name = f"{__name__}.{exchange_id}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        _cache[exchange_id] = None
        return None
    dialect = getattr(module, "DIALECT", None)
    if dialect is None:
        raise ImportError(f"{module_name} must export DIALECT (a Dialect instance)")
    _cache[exchange_id] = dialect
    return dialect


def dialect_problem(exchange_id: str) -> str | None:
    """None when the dialect loads, else a short reason (for start-up banners and the admin state)."""
    try:
        return None if get_dialect(exchange_id) is not None else "no dialect: answers 501"
    except Exception as error:  # a broken dialect must not take the others down
        return f"dialect failed to import: {type(error).__name__}: {error}"


def available_dialects() -> list[str]:
    return [exchange_id for exchange_id in KNOWN_DIALECTS if dialect_problem(exchange_id) is None]
