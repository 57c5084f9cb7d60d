"""Build one connector per configured exchange account from the settings."""

from __future__ import annotations

from arbitrage.exchanges.binanceusdm import BinanceUsdmConnector
from arbitrage.exchanges.bingx import BingxConnector
from arbitrage.exchanges.bybit import BybitConnector
from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.connector import ConnectorRegistry
from arbitrage.exchanges.mexc import MexcConnector
from arbitrage.settings import Settings

CONNECTOR_CLASSES: dict[str, type[CcxtConnector]] = {
    "binanceusdm": BinanceUsdmConnector,
    "bybit": BybitConnector,
    "bingx": BingxConnector,
    "mexc": MexcConnector,
}


def build_connector(settings: Settings, exchange_id: str) -> CcxtConnector:
    return CONNECTOR_CLASSES[exchange_id](settings.exchange(exchange_id), timeout_seconds=settings.order_timeout_seconds)


def build_connectors(settings: Settings) -> ConnectorRegistry:
    """A connector for every exchange with an API key + secret or a BASE_URL. Nothing is contacted yet."""
    registry = ConnectorRegistry()
    for exchange_id in settings.configured_exchanges:
        registry.connectors[exchange_id] = build_connector(settings, exchange_id)
    return registry
