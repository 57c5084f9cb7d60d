"""BingX perpetual swap response bodies (the keys and string-vs-number types ccxt 4.5.90 reads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Account, Fill, MarginMode, Order, OrderStatus, PositionSide
from arbitrage.simulator.dialects.common import dashed_id, decimals_of, fmt, num
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.venue import BalanceView, PositionView, Venue

ZERO = Decimal(0)
MONEY_PLACES = 4
BEIJING = timezone(timedelta(hours=8))


def qty(instrument: Instrument, value: Decimal) -> str:
    return fmt(value, decimals_of(instrument.step_size))


def price(instrument: Instrument, value: Decimal) -> str:
    return fmt(value, decimals_of(instrument.tick_size))


def entry_price(instrument: Instrument, value: Decimal) -> str:
    """Tick decimals, or more when an averaged entry is finer than the tick (never rounds the entry away)."""
    return price(instrument, value) if value % instrument.tick_size == 0 else fmt(value)


def money(value: Decimal) -> str:
    return fmt(value, MONEY_PLACES)


def contract(instrument: Instrument, index: int) -> dict[str, Any]:
    """One row of ``/openApi/swap/v2/quote/contracts``. ``currency`` is what makes ccxt see a swap market and the
    ``apiState*`` flags must be the STRINGS "true" for ccxt to mark the market active."""
    state = "true" if instrument.listed else "false"
    return {
        "contractId": str(100 + index),
        "symbol": dashed_id(instrument),
        "size": fmt(instrument.step_size),
        "quantityPrecision": str(decimals_of(instrument.step_size)),
        "pricePrecision": str(decimals_of(instrument.tick_size)),
        "feeRate": fmt(instrument.taker_fee),
        "makerFeeRate": fmt(instrument.maker_fee),
        "takerFeeRate": fmt(instrument.taker_fee),
        "tradeMinLimit": "0",
        "tradeMinQuantity": fmt(instrument.min_qty),
        "tradeMinUSDT": fmt(instrument.min_notional),
        "maxLongLeverage": str(instrument.max_leverage),
        "maxShortLeverage": str(instrument.max_leverage),
        "currency": instrument.settle,
        "asset": instrument.base,
        "status": "1" if instrument.listed else "0",
        "apiStateOpen": state,
        "apiStateClose": "true",
        "ensureTrigger": True,
        "triggerFeeRate": "0.00020000",
        "brokerState": True,
        "launchTime": instrument.onboard_time,
        "maintainTime": 0,
        "offTime": 0,
        "displayName": dashed_id(instrument),
    }


def premium_index(instrument: Instrument) -> dict[str, Any]:
    hours = instrument.funding_interval_hours
    return {
        "symbol": dashed_id(instrument),
        "markPrice": price(instrument, instrument.mark_price),
        "indexPrice": price(instrument, instrument.effective_index_price),
        "lastFundingRate": fmt(instrument.funding_rate),
        "nextFundingTime": instrument.next_funding_time,
        "fundingIntervalHours": num(hours),
    }


def ticker(instrument: Instrument, now: int) -> dict[str, Any]:
    mark = price(instrument, instrument.mark_price)
    return {
        "symbol": dashed_id(instrument),
        "priceChange": "0",
        "priceChangePercent": "0",
        "lastPrice": mark,
        "lastQty": fmt(instrument.min_qty),
        "highPrice": mark,
        "lowPrice": mark,
        "volume": "0",
        "quoteVolume": "0",
        "openPrice": mark,
        "openTime": now - 86_400_000,
        "closeTime": now,
        "askPrice": price(instrument, instrument.mark_price + instrument.tick_size),
        "askQty": fmt(instrument.min_qty),
        "bidPrice": mark,
        "bidQty": fmt(instrument.min_qty),
    }


def leverage_tiers(instrument: Instrument) -> list[dict[str, Any]]:
    """``maintMarginRatio`` rows; ``tier`` must be the string "Tier N" (ccxt splits it on the space)."""
    cums = instrument.cumulative_maintenance()
    return [
        {
            "tier": f"Tier {index + 1}",
            "symbol": dashed_id(instrument),
            "minPositionVal": fmt(tier.notional_floor),
            "maxPositionVal": fmt(tier.notional_cap),
            "maintMarginRatio": fmt(tier.maint_margin_rate, 6),
            "maintAmount": fmt(cums[index], 6),
        }
        for index, tier in enumerate(instrument.tiers)
    ]


def availability(venue: Venue, account: Account, instrument: Instrument, leverage: int) -> tuple[str, str, str]:
    """(availableVol, availableVal, maxPositionVal) for one side at ``leverage``."""
    value = venue.balance(account).available * Decimal(leverage)
    volume = value / instrument.mark_price if instrument.mark_price else ZERO
    volume = (volume // instrument.step_size) * instrument.step_size
    return qty(instrument, volume), money(value), fmt(instrument.max_notional_for_leverage(leverage))


def set_leverage_body(venue: Venue, account: Account, instrument: Instrument, leverage: int) -> dict[str, Any]:
    volume, value, max_value = availability(venue, account, instrument, leverage)
    return {
        "leverage": leverage,
        "symbol": dashed_id(instrument),
        "availableLongVol": volume,
        "availableShortVol": volume,
        "availableLongVal": value,
        "availableShortVal": value,
        "maxPositionLongVal": max_value,
        "maxPositionShortVal": max_value,
    }


def leverage_body(venue: Venue, account: Account, instrument: Instrument) -> dict[str, Any]:
    sides = venue.leverage(account, instrument.symbol)
    long_vol, long_val, long_max = availability(venue, account, instrument, sides[PositionSide.LONG])
    short_vol, short_val, short_max = availability(venue, account, instrument, sides[PositionSide.SHORT])
    return {
        "longLeverage": sides[PositionSide.LONG],
        "shortLeverage": sides[PositionSide.SHORT],
        "maxLongLeverage": instrument.max_leverage,
        "maxShortLeverage": instrument.max_leverage,
        "availableLongVol": long_vol,
        "availableShortVol": short_vol,
        "availableLongVal": long_val,
        "availableShortVal": short_val,
        "maxPositionLongVal": long_max,
        "maxPositionShortVal": short_max,
    }


def order_ack(instrument: Instrument, order: Order) -> dict[str, Any]:
    """``POST /openApi/swap/v2/trade/order`` answers only these keys (no status, no fill)."""
    return {
        "symbol": dashed_id(instrument),
        "orderId": int(order.id),
        "side": order.side.value,
        "positionSide": order.position_side.value,
        "type": order.order_type.value,
        "clientOrderID": order.client_order_id or "",
        "workingType": "MARK_PRICE",
    }


def order_detail(instrument: Instrument, order: Order) -> dict[str, Any]:
    bracket = {"quantity": 0, "stopPrice": 0, "price": 0, "workingType": ""}
    return {
        "symbol": dashed_id(instrument),
        "orderId": int(order.id),
        "side": order.side.value,
        "positionSide": order.position_side.value,
        "type": order.order_type.value,
        "origQty": qty(instrument, order.quantity),
        "price": price(instrument, order.price or ZERO),
        "executedQty": qty(instrument, order.executed_qty),
        "avgPrice": price(instrument, order.avg_price),
        "cumQuote": fmt(order.cum_quote),
        "stopPrice": "",
        "profit": money(order.realized_pnl),
        "commission": fmt(-order.fee, 6),
        # BingX has no partially-filled-then-cancelled status: an IOC remainder ends CANCELLED with executedQty.
        "status": "FILLED" if order.status is OrderStatus.FILLED else "CANCELLED",
        "time": order.create_time,
        "updateTime": order.update_time,
        "clientOrderId": order.client_order_id or "",
        "leverage": f"{order.leverage}X",
        "takeProfit": {"type": "TAKE_PROFIT", **bracket},
        "stopLoss": {"type": "STOP", **bracket},
        "advanceAttr": 0,
        "positionID": 0,
        "takeProfitEntrustPrice": 0,
        "stopLossEntrustPrice": 0,
        "orderType": "",
        "workingType": "MARK_PRICE",
        "onlyOnePosition": False,
        "reduceOnly": order.reduce_only,
        "postOnly": False,
        "stopGuaranteed": "false",
        "triggerOrderId": 0,
        "trailingStopRate": 0,
        "trailingStopDistance": 0,
    }


def position_row(venue: Venue, account: Account, view: PositionView) -> dict[str, Any]:
    """BingX reports positions as LONG/SHORT with a positive amount, also in one-way mode (ccxt reads the side
    from ``positionSide``)."""
    instrument = venue.instrument(view.position.symbol)
    size = abs(view.position.size)
    margin = view.initial_margin + view.unrealized_pnl
    return {
        "positionId": view.position.id,
        "symbol": dashed_id(instrument),
        "currency": instrument.settle,
        "positionAmt": qty(instrument, size),
        "availableAmt": qty(instrument, size),
        "positionSide": "LONG" if view.position.size > 0 else "SHORT",
        "isolated": view.margin_mode is MarginMode.ISOLATED,
        "avgPrice": entry_price(instrument, view.position.entry_price),
        "initialMargin": money(view.initial_margin),
        "margin": money(margin),
        "leverage": view.leverage,
        "unrealizedProfit": money(view.unrealized_pnl),
        "realisedProfit": money(view.position.realized_pnl),
        "liquidationPrice": num(view.liquidation_price.quantize(instrument.tick_size)),
        "pnlRatio": fmt(view.unrealized_pnl / view.initial_margin, 4) if view.initial_margin else "0",
        "maxMarginReduction": "0.0",
        "riskRate": fmt(view.maint_margin / margin, 4) if margin > 0 else "0",
        "markPrice": price(instrument, view.mark_price),
        "positionValue": money(abs(view.notional)),
        "onlyOnePosition": not account.hedge_mode,
        "createTime": view.position.open_time,
        "updateTime": view.position.update_time,
    }


def swap_balance(account: Account, balance: BalanceView) -> dict[str, Any]:
    uid = account.uid or "0"
    return {
        "userId": f"{uid[:3]}***{uid[-3:]}",
        "asset": "USDT",
        "balance": money(balance.wallet_balance),
        "equity": money(balance.margin_balance),
        "unrealizedProfit": money(balance.unrealized_pnl),
        "realisedProfit": money(account.realized_pnl),
        "availableMargin": money(balance.available),
        "usedMargin": money(balance.position_initial_margin),
        "freezedMargin": "0.0000",
        "shortUid": uid,
    }


def income_row(instrument: Instrument, income_type: str, amount: Decimal, when: int, tran_id: str,
               trade_id: str) -> dict[str, Any]:
    info = {"FUNDING_FEE": "Funding Fee", "TRADING_FEE": "Trading Fee", "REALIZED_PNL": "Realized PNL"}
    return {
        "symbol": dashed_id(instrument),
        "incomeType": income_type,
        "income": fmt(amount),
        "asset": "USDT",
        "info": info.get(income_type, income_type),
        "time": when,
        "tranId": tran_id,
        "tradeId": trade_id,
    }


def fill_row(instrument: Instrument, fill: Fill) -> dict[str, Any]:
    """``allFillOrders`` row: times are ISO-8601 strings (``filledTm`` UTC, ``filledTime`` Beijing time)."""
    moment = datetime.fromtimestamp(fill.time / 1000, tz=UTC)
    return {
        "filledTm": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{fill.time % 1000:03d}Z",
        "volume": qty(instrument, fill.quantity),
        "price": price(instrument, fill.price),
        "amount": money(fill.quote_qty),
        "commission": fmt(-fill.fee, MONEY_PLACES),
        "currency": "USDT",
        "orderId": fill.order_id,
        "liquidatedPrice": "0.0",
        "liquidatedMarginRatio": "0.0",
        "filledTime": moment.astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M:%S.") + f"{fill.time % 1000:03d}+0800",
        "clientOrderId": fill.client_order_id or "",
        "symbol": dashed_id(instrument),
    }
