"""Binance USDⓈ-M response bodies (the shapes ccxt 4.5.90 reads)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Account, Fill, MarginMode, Order, PositionSide
from arbitrage.simulator.dialects.common import compact_id, decimals_of, fmt, num
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.venue import BalanceView, PositionView, Venue

ZERO = Decimal(0)


def qty(instrument: Instrument, value: Decimal) -> str:
    return fmt(value, decimals_of(instrument.step_size))


def price(instrument: Instrument, value: Decimal) -> str:
    return fmt(value, decimals_of(instrument.tick_size))


def symbol_info(instrument: Instrument) -> dict[str, Any]:
    price_places = decimals_of(instrument.tick_size)
    qty_places = decimals_of(instrument.step_size)
    first_tier = instrument.tiers[0]
    return {
        "symbol": compact_id(instrument),
        "pair": compact_id(instrument),
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": instrument.onboard_time,
        "status": "TRADING" if instrument.listed else "SETTLING",
        "maintMarginPercent": fmt(first_tier.maint_margin_rate * 100, 4),
        "requiredMarginPercent": fmt(Decimal(100) / Decimal(first_tier.max_leverage), 4),
        "baseAsset": instrument.base,
        "quoteAsset": instrument.quote,
        "marginAsset": instrument.settle,
        "pricePrecision": price_places,
        "quantityPrecision": qty_places,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(instrument.tick_size),
                "maxPrice": fmt(instrument.mark_price * 100, price_places),
                "tickSize": fmt(instrument.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": fmt(instrument.step_size),
                "maxQty": fmt(instrument.max_qty),
                "minQty": fmt(instrument.min_qty),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": fmt(instrument.step_size),
                "maxQty": fmt(instrument.max_qty),
                "minQty": fmt(instrument.min_qty),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": fmt(instrument.min_notional)},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"},
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def premium_index(instrument: Instrument, now: int) -> dict[str, Any]:
    return {
        "symbol": compact_id(instrument),
        "markPrice": fmt(instrument.mark_price, 8),
        "indexPrice": fmt(instrument.effective_index_price, 8),
        "estimatedSettlePrice": fmt(instrument.mark_price, 8),
        "lastFundingRate": fmt(instrument.funding_rate, 8),
        "interestRate": "0.00010000",
        "nextFundingTime": instrument.next_funding_time,
        "time": now,
    }


def brackets(instrument: Instrument) -> dict[str, Any]:
    cums = instrument.cumulative_maintenance()
    return {
        "symbol": compact_id(instrument),
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": index + 1,
                "initialLeverage": tier.max_leverage,
                "notionalCap": num(tier.notional_cap),
                "notionalFloor": num(tier.notional_floor),
                "maintMarginRatio": num(tier.maint_margin_rate),
                "cum": float(cums[index]),
            }
            for index, tier in enumerate(instrument.tiers)
        ],
    }


def symbol_config(venue: Venue, account: Account, instrument: Instrument) -> dict[str, Any]:
    leverage = venue.leverage(account, instrument.symbol)[PositionSide.LONG]
    return {
        "symbol": compact_id(instrument),
        "marginType": margin_type(account.margin_mode(instrument.symbol)),
        "isAutoAddMargin": "false",
        "leverage": leverage,
        "maxNotionalValue": fmt(instrument.max_notional_for_leverage(leverage)),
    }


def margin_type(mode: MarginMode) -> str:
    return "ISOLATED" if mode is MarginMode.ISOLATED else "CROSSED"


def order_body(instrument: Instrument, order: Order, *, with_time: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "orderId": int(order.id),
        "symbol": compact_id(instrument),
        "status": order.status.value,
        "clientOrderId": order.client_order_id or "",
        "price": price(instrument, order.price or ZERO),
        "avgPrice": price(instrument, order.avg_price),
        "origQty": qty(instrument, order.quantity),
        "executedQty": qty(instrument, order.executed_qty),
        "cumQty": qty(instrument, order.executed_qty),
        "cumQuote": fmt(order.cum_quote, decimals_of(instrument.tick_size) + decimals_of(instrument.step_size)),
        "timeInForce": "GTC",
        "type": order.order_type.value,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value,
        "positionSide": order.position_side.value,
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.order_type.value,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "updateTime": order.update_time,
    }
    if with_time:
        body["time"] = order.create_time
    return body


def position_row(instrument: Instrument, view: PositionView) -> dict[str, Any]:
    isolated = view.margin_mode is MarginMode.ISOLATED
    entry = view.position.entry_price
    fee_share = entry * instrument.taker_fee
    break_even = entry + fee_share if view.position.size > 0 else entry - fee_share
    return {
        "symbol": compact_id(instrument),
        "positionSide": view.position.position_side.value,
        "positionAmt": qty(instrument, view.position.size),
        "entryPrice": fmt(entry),
        "breakEvenPrice": fmt(break_even, 8),
        "markPrice": fmt(view.mark_price, 8),
        "unRealizedProfit": fmt(view.unrealized_pnl, 8),
        "liquidationPrice": fmt(view.liquidation_price, 8),
        "isolatedMargin": fmt(view.initial_margin + view.unrealized_pnl, 8) if isolated else "0",
        "notional": fmt(view.notional, 8),
        "marginAsset": instrument.settle,
        "isolatedWallet": fmt(view.initial_margin, 8) if isolated else "0",
        "initialMargin": fmt(view.initial_margin, 8),
        "maintMargin": fmt(view.maint_margin, 8),
        "positionInitialMargin": fmt(view.initial_margin, 8),
        "openOrderInitialMargin": "0",
        "adl": 1,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": view.position.update_time,
    }


def account_body(venue: Venue, account: Account, balance: BalanceView) -> dict[str, Any]:
    totals = balance_fields(balance)
    asset = {
        "asset": "USDT",
        "walletBalance": totals["totalWalletBalance"],
        "unrealizedProfit": totals["totalUnrealizedProfit"],
        "marginBalance": totals["totalMarginBalance"],
        "maintMargin": totals["totalMaintMargin"],
        "initialMargin": totals["totalInitialMargin"],
        "positionInitialMargin": totals["totalPositionInitialMargin"],
        "openOrderInitialMargin": "0",
        "crossWalletBalance": totals["totalCrossWalletBalance"],
        "crossUnPnl": totals["totalCrossUnPnl"],
        "availableBalance": totals["availableBalance"],
        "maxWithdrawAmount": totals["maxWithdrawAmount"],
        "updateTime": account.update_time or account.create_time,
    }
    positions = []
    for view in venue.position_views(account):
        instrument = venue.instrument(view.position.symbol)
        positions.append(
            {
                "symbol": compact_id(instrument),
                "positionSide": view.position.position_side.value,
                "positionAmt": qty(instrument, view.position.size),
                "unrealizedProfit": fmt(view.unrealized_pnl, 8),
                "isolatedMargin": "0",
                "notional": fmt(view.notional, 8),
                "isolatedWallet": "0",
                "initialMargin": fmt(view.initial_margin, 8),
                "maintMargin": fmt(view.maint_margin, 8),
                "updateTime": view.position.update_time,
            }
        )
    return {**totals, "assets": [asset], "positions": positions}


def balance_fields(balance: BalanceView) -> dict[str, str]:
    return {
        "totalInitialMargin": fmt(balance.position_initial_margin, 8),
        "totalMaintMargin": fmt(balance.maint_margin, 8),
        "totalWalletBalance": fmt(balance.wallet_balance, 8),
        "totalUnrealizedProfit": fmt(balance.unrealized_pnl, 8),
        "totalMarginBalance": fmt(balance.margin_balance, 8),
        "totalPositionInitialMargin": fmt(balance.position_initial_margin, 8),
        "totalOpenOrderInitialMargin": "0",
        "totalCrossWalletBalance": fmt(balance.wallet_balance, 8),
        "totalCrossUnPnl": fmt(balance.unrealized_pnl, 8),
        "availableBalance": fmt(balance.available, 8),
        "maxWithdrawAmount": fmt(min(balance.available, balance.wallet_balance), 8),
    }


def trade_row(instrument: Instrument, fill: Fill) -> dict[str, Any]:
    return {
        "buyer": fill.side.value == "BUY",
        "commission": fmt(fill.fee, 8),
        "commissionAsset": instrument.settle,
        "id": int(fill.id),
        "maker": fill.maker,
        "orderId": int(fill.order_id),
        "price": price(instrument, fill.price),
        "qty": qty(instrument, fill.quantity),
        "quoteQty": fmt(fill.quote_qty),
        "realizedPnl": fmt(fill.realized_pnl, 8),
        "side": fill.side.value,
        "positionSide": fill.position_side.value,
        "symbol": compact_id(instrument),
        "time": fill.time,
    }


def ticker(instrument: Instrument, now: int) -> dict[str, Any]:
    mark = price(instrument, instrument.mark_price)
    return {
        "symbol": compact_id(instrument),
        "priceChange": "0",
        "priceChangePercent": "0",
        "weightedAvgPrice": mark,
        "lastPrice": mark,
        "lastQty": fmt(instrument.min_qty),
        "openPrice": mark,
        "highPrice": mark,
        "lowPrice": mark,
        "volume": "0",
        "quoteVolume": "0",
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }
