"""Bybit v5 execution-list rows: trades and funding settlements (the keys ccxt 4.5.90 reads)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Fill, FundingPayment, Order
from arbitrage.simulator.dialects.bybit.formatting import price, qty, side_name
from arbitrage.simulator.dialects.common import compact_id, fmt
from arbitrage.simulator.instruments import Instrument

ZERO = Decimal(0)


def _execution(instrument: Instrument, **fields: Any) -> dict[str, Any]:
    row = {
        "symbol": compact_id(instrument),
        "orderType": "UNKNOWN",
        "underlyingPrice": "",
        "orderLinkId": "",
        "orderId": "",
        "stopOrderType": "UNKNOWN",
        "execTime": "0",
        "feeRate": "0",
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": price(instrument, instrument.mark_price),
        "execPrice": "0",
        "markIv": "",
        "orderQty": "0",
        "orderPrice": "0",
        "execValue": "0",
        "closedSize": "0",
        "execType": "Trade",
        "seq": 1,
        "side": "",
        "indexPrice": "",
        "leavesQty": "0",
        "isMaker": False,
        "execFee": "0",
        "execId": "",
        "marketUnit": "",
        "execQty": "0",
        "feeCurrency": instrument.settle,
        "createType": "CreateByUser",
        "extraFees": "",
    }
    row.update(fields)
    return row


def trade_execution(instrument: Instrument, fill: Fill, order: Order | None) -> dict[str, Any]:
    closed = fill.quantity if fill.realized_pnl != 0 else ZERO
    return _execution(
        instrument,
        orderType="Market",
        orderLinkId=fill.client_order_id or "",
        orderId=fill.order_id,
        execTime=str(fill.time),
        feeRate=fmt(fill.fee_rate),
        execPrice=price(instrument, fill.price),
        orderQty=qty(instrument, fill.quantity),
        orderPrice=price(instrument, order.price) if order is not None and order.price is not None else "0",
        execValue=fmt(fill.quote_qty),
        closedSize=qty(instrument, closed),
        execType="Trade",
        side=side_name(fill.side),
        isMaker=fill.maker,
        execFee=fmt(fill.fee, 8),
        execId=fill.id,
        execQty=qty(instrument, fill.quantity),
    )


def funding_execution(instrument: Instrument, payment: FundingPayment) -> dict[str, Any]:
    """Bybit reports funding as an execution whose ``execFee`` is a FEE: positive = paid, negative = received."""
    side = "Buy" if payment.size > 0 else "Sell"
    return _execution(
        instrument,
        orderId=f"{payment.funding_time}-{compact_id(instrument)}-{payment.position_id}-{side}",
        execTime=str(payment.funding_time),
        feeRate=fmt(payment.rate),
        execPrice=price(instrument, payment.mark_price),
        markPrice=price(instrument, payment.mark_price),
        execValue=fmt(payment.position_value, 8),
        execType="Funding",
        side=side,
        execFee=fmt(-payment.amount, 8),
        execId=payment.id,
        execQty=qty(instrument, abs(payment.size)),
        createType="",
    )
