"""The account reads of `CcxtConnector`: positions, funding payments (one symbol's, or every symbol's in one
request) and the balance. A mixin of `CcxtConnector` (it uses the connector's `_read` and market cache)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from arbitrage.domain.funding import normalize_funding_amount
from arbitrage.exchanges import reports
from arbitrage.exchanges.connector import (
    BalanceReport,
    ExchangeError,
    FundingPaymentBatch,
    FundingPaymentReport,
    PositionReport,
)

T = TypeVar("T")
CcxtMarket = dict[str, Any]


class CcxtAccountReads:
    exchange_id: str
    client: Any
    # The exchange's raw field (in `info`) with a funding payment's amount, read as an exact string.
    funding_amount_field: ClassVar[str | None] = None
    # The most rows one funding-history request returns (Binance and BingX 1000, Bybit and MEXC 100).
    funding_page_limit: ClassVar[int] = 100
    funding_page_params: ClassVar[dict[str, Any]] = {}  # extra parameters of that request

    async def _read(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError

    async def _loaded_market(self, symbol: str) -> CcxtMarket:
        raise NotImplementedError

    def _market(self, symbol: str) -> CcxtMarket:
        raise NotImplementedError

    async def fetch_positions(self, symbol: str) -> list[PositionReport]:
        market = await self._loaded_market(symbol)
        rows = await self._read("fetch_positions", lambda: self.client.fetch_positions([symbol]))
        return reports.position_reports(self.exchange_id, symbol, rows, reports.contract_size(market))

    async def fetch_all_positions(self) -> list[PositionReport]:
        """Every open position of the account, in the markets we know (others are not ours to read)."""
        rows = await self._read("fetch_positions", lambda: self.client.fetch_positions())
        positions = []
        for symbol in sorted({str(row.get("symbol")) for row in rows if row.get("symbol")}):
            try:
                market = self._market(symbol)
            except ExchangeError:
                continue
            positions += reports.position_reports(self.exchange_id, symbol, rows, reports.contract_size(market))
        return positions

    async def fetch_funding_payments(self, symbol: str, since: datetime) -> list[FundingPaymentReport]:
        await self._loaded_market(symbol)
        since_ms = reports.to_ms(since)
        rows = await self._read("fetch_funding_payments", lambda: self.client.fetch_funding_history(symbol, since_ms))
        return self._funding_payments(rows, since_ms, symbol)

    async def fetch_all_funding_payments(self, since: datetime) -> FundingPaymentBatch:
        """One request for every symbol's payments since `since` (the exchange's largest page)."""
        since_ms = reports.to_ms(since)
        limit = self.funding_page_limit
        rows = await self._read(
            "fetch_funding_payments",
            lambda: self.client.fetch_funding_history(None, since_ms, limit, dict(self.funding_page_params)),
        )
        # Pages that ignore `since` (newest first) are complete once they reach back past it.
        reaches_back = any((reports.to_int(row.get("timestamp")) or since_ms) < since_ms for row in rows)
        return FundingPaymentBatch(self._funding_payments(rows, since_ms, None), len(rows) < limit or reaches_back)

    def _funding_payments(
        self, rows: list[dict[str, Any]], since_ms: int, symbol: str | None
    ) -> list[FundingPaymentReport]:
        payments = []
        for row in rows:
            timestamp = reports.to_int(row.get("timestamp"))
            row_symbol = self._funding_row_symbol(row) if symbol is None else symbol
            if row_symbol is None or row.get("symbol") not in (row_symbol, None):
                continue
            if timestamp is None or timestamp < since_ms:
                continue  # mexc ignores `since`; every venue is filtered the same way
            raw = reports.funding_amount(row, self.funding_amount_field)
            if raw is not None:
                amount = normalize_funding_amount(self.exchange_id, raw)
                payments.append(reports.funding_payment(self.exchange_id, row_symbol, row, timestamp, amount))
        return sorted(payments, key=lambda payment: payment.paid_at)

    def _funding_row_symbol(self, row: dict[str, Any]) -> str | None:
        """The unified symbol of a funding row fetched without a symbol."""
        return row.get("symbol")

    async def fetch_balance(self, currency: str = "USDT") -> BalanceReport:
        balance = await self._read("fetch_balance", lambda: self.client.fetch_balance())
        row = balance.get(currency) or {}
        return BalanceReport(
            exchange=self.exchange_id,
            currency=currency,
            free=reports.dec(row.get("free")) or Decimal(0),
            total=reports.dec(row.get("total")),
        )
