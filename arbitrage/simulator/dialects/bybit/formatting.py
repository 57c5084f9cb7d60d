"""Bybit v5 bodies (the keys and string-vs-number types ccxt 4.5.90 reads). Numbers are strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrage.simulator.accounts import Account, MarginMode, Order, OrderStatus, PositionSide, Side
from arbitrage.simulator.dialects.common import RequestContext, compact_id, decimals_of, fmt, parse_int
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.order_book import book
from arbitrage.simulator.trading import round_to_tick
from arbitrage.simulator.venue import BalanceView, PositionView

ZERO = Decimal(0)
MARKET_PRICE_BAND = Decimal("0.05")  # market orders carry a protection price ±5 % (a sell at mark 60000 carries 57000)
POSITION_IDX = {PositionSide.BOTH: 0, PositionSide.LONG: 1, PositionSide.SHORT: 2}


def qty(instrument: Instrument, value: Decimal) -> str:
    return fmt(value, decimals_of(instrument.step_size))


def price(instrument: Instrument, value: Decimal) -> str:
    return fmt(value, decimals_of(instrument.tick_size))


def side_name(side: Side) -> str:
    return "Buy" if side is Side.BUY else "Sell"


def paginate(ctx: RequestContext, rows: list[Any], default_limit: int, max_limit: int) -> tuple[list[Any], str]:
    """Bybit cursor paging: ``limit`` (1..max) rows from ``cursor``; ``nextPageCursor`` is "" on the last page."""
    limit = parse_int(ctx.param("limit", default_limit), "limit")
    if limit < 1 or limit > max_limit:
        raise SimError(ErrorKind.INVALID_PARAMETER, f"limit must be 1..{max_limit}", param="limit")
    cursor = ctx.param("cursor")
    start = 0
    if cursor:
        if not str(cursor).isdigit():
            raise SimError(ErrorKind.INVALID_PARAMETER, "cursor is not valid", param="cursor")
        start = int(cursor)
    end = start + limit
    return rows[start:end], (str(end) if end < len(rows) else "")


def instrument_info(instrument: Instrument) -> dict[str, Any]:
    price_places = decimals_of(instrument.tick_size)
    return {
        "symbol": compact_id(instrument),
        "contractType": "LinearPerpetual",
        "status": "Trading" if instrument.listed else "Closed",
        "baseCoin": instrument.base,
        "quoteCoin": instrument.quote,
        "launchTime": str(instrument.onboard_time),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(price_places),
        "leverageFilter": {
            "minLeverage": str(instrument.min_leverage),
            "maxLeverage": fmt(Decimal(instrument.max_leverage), 2),
            "leverageStep": "0.01",
        },
        "priceFilter": {
            "minPrice": fmt(instrument.tick_size),
            "maxPrice": fmt(instrument.mark_price * 100, price_places),
            "tickSize": fmt(instrument.tick_size),
        },
        "lotSizeFilter": {
            "maxOrderQty": qty(instrument, instrument.max_qty),
            "minOrderQty": qty(instrument, instrument.min_qty),
            "qtyStep": fmt(instrument.step_size),
            "postOnlyMaxOrderQty": qty(instrument, instrument.max_qty),
            "maxMktOrderQty": qty(instrument, instrument.max_qty),
            "minNotionalValue": fmt(instrument.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": instrument.funding_interval_s // 60,
        "settleCoin": instrument.settle,
        "copyTrading": "both",
        "upperFundingRate": "0.005",
        "lowerFundingRate": "-0.005",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "displayName": "",
    }


def ticker(instrument: Instrument) -> dict[str, Any]:
    mark = price(instrument, instrument.mark_price)
    hours = instrument.funding_interval_hours
    bids, asks = book(instrument, 1)
    return {
        "symbol": compact_id(instrument),
        "lastPrice": mark,
        "indexPrice": price(instrument, instrument.effective_index_price),
        "markPrice": mark,
        "prevPrice24h": mark,
        "price24hPcnt": "0",
        "highPrice24h": mark,
        "lowPrice24h": mark,
        "prevPrice1h": mark,
        "openInterest": "0",
        "openInterestValue": "0",
        "turnover24h": "0",
        "volume24h": "0",
        "fundingRate": fmt(instrument.funding_rate),
        "nextFundingTime": str(instrument.next_funding_time),
        "fundingIntervalHour": fmt(hours),
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": qty(instrument, asks[0][1]) if asks else "0",
        "bid1Price": price(instrument, bids[0][0]) if bids else "",
        "ask1Price": price(instrument, asks[0][0]) if asks else "",
        "bid1Size": qty(instrument, bids[0][1]) if bids else "0",
        "basis": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def risk_rows(instrument: Instrument) -> list[dict[str, Any]]:
    cums = instrument.cumulative_maintenance()
    return [
        {
            "id": index + 1,
            "symbol": compact_id(instrument),
            "riskLimitValue": fmt(tier.notional_cap),
            "maintenanceMargin": fmt(tier.maint_margin_rate),
            "initialMargin": fmt(Decimal(1) / Decimal(tier.max_leverage)),
            "isLowestRisk": 1 if index == 0 else 0,
            "maxLeverage": fmt(Decimal(tier.max_leverage), 2),
            "mmDeduction": fmt(cums[index]),
        }
        for index, tier in enumerate(instrument.tiers)
    ]


def position_row(
    instrument: Instrument, side: PositionSide, leverage: int, view: PositionView | None
) -> dict[str, Any]:
    """One row of /v5/position/list; ``view`` None is Bybit's empty row (size 0, side "")."""
    tier_index = 0
    if view is not None:
        tier = instrument.tier_for_notional(view.notional) or instrument.tiers[-1]
        tier_index = instrument.tiers.index(tier)
    position = view.position if view is not None else None
    isolated = view is not None and view.margin_mode is MarginMode.ISOLATED
    return {
        "positionIdx": POSITION_IDX[side],
        "riskId": tier_index + 1,
        "riskLimitValue": fmt(instrument.tiers[tier_index].notional_cap),
        "symbol": compact_id(instrument),
        "side": ("Buy" if position.size > 0 else "Sell") if position is not None else "",
        "size": qty(instrument, abs(position.size)) if position is not None else "0",
        "avgPrice": fmt(position.entry_price) if position is not None else "0",
        "positionValue": fmt(abs(view.notional), 8) if view is not None else "0",
        "tradeMode": 1 if isolated else 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2 if position is not None else 0,
        "leverage": str(leverage),
        "positionBalance": fmt(view.initial_margin, 8) if view is not None else "0",
        "markPrice": price(instrument, instrument.mark_price),
        "liqPrice": price(instrument, view.liquidation_price) if view is not None else "",
        "bustPrice": "",
        "positionMM": fmt(view.maint_margin, 8) if view is not None else "0",
        "positionIM": fmt(view.initial_margin, 8) if view is not None else "0",
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": fmt(view.unrealized_pnl, 8) if view is not None else "0",
        "curRealisedPnl": fmt(position.realized_pnl, 8) if position is not None else "0",
        "cumRealisedPnl": fmt(position.realized_pnl, 8) if position is not None else "0",
        "seq": 1,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "sessionAvgPrice": "",
        "createdTime": str(position.open_time) if position is not None else "0",
        "updatedTime": str(position.update_time) if position is not None else "0",
    }


def order_row(instrument: Instrument, order: Order) -> dict[str, Any]:
    band = Decimal(1) + MARKET_PRICE_BAND if order.side is Side.BUY else Decimal(1) - MARKET_PRICE_BAND
    limit_price = order.price
    if limit_price is None:
        reference = order.avg_price if order.executed_qty > 0 else instrument.mark_price
        limit_price = round_to_tick(reference * band, instrument.tick_size)
    expired = order.status is OrderStatus.EXPIRED
    return {
        "orderId": order.id,
        "orderLinkId": order.client_order_id or "",
        "blockTradeId": "",
        "symbol": compact_id(instrument),
        "price": price(instrument, limit_price),
        "qty": qty(instrument, order.quantity),
        "side": side_name(order.side),
        "isLeverage": "",
        "positionIdx": POSITION_IDX[order.position_side],
        "orderStatus": order_status(order),
        "cancelType": "UNKNOWN",
        "rejectReason": "EC_CancelForNoFullFill" if expired else "EC_NoError",
        "avgPrice": fmt(order.avg_price),
        "leavesQty": "0" if expired else qty(instrument, order.quantity - order.executed_qty),
        "leavesValue": "0",
        "cumExecQty": qty(instrument, order.executed_qty),
        "cumExecValue": fmt(order.cum_quote),
        "cumExecFee": fmt(order.fee, 8),
        "timeInForce": "IOC" if order.order_type.value == "MARKET" else "GTC",
        "orderType": "Market" if order.order_type.value == "MARKET" else "Limit",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "",
        "takeProfit": "",
        "stopLoss": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": price(instrument, order.avg_price),
        "reduceOnly": order.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": str(order.create_time),
        "updatedTime": str(order.update_time),
    }


def order_status(order: Order) -> str:
    """A market order's remainder that found no liquidity is cancelled: PartiallyFilledCanceled after a fill."""
    if order.status is OrderStatus.FILLED:
        return "Filled"
    return "PartiallyFilledCanceled" if order.executed_qty > 0 else "Cancelled"


def wallet_account(account: Account, balance: BalanceView) -> dict[str, Any]:
    wallet = fmt(balance.wallet_balance, 8)
    equity = fmt(balance.margin_balance, 8)
    initial = fmt(balance.position_initial_margin, 8)
    maint = fmt(balance.maint_margin, 8)
    upl = fmt(balance.unrealized_pnl, 8)
    margin_balance = balance.margin_balance if balance.margin_balance > 0 else Decimal(1)
    return {
        "totalEquity": equity,
        "accountIMRate": fmt(balance.position_initial_margin / margin_balance, 4),
        "totalMarginBalance": equity,
        "totalInitialMargin": initial,
        "accountType": "UNIFIED",
        "totalAvailableBalance": fmt(balance.available, 8),
        "accountMMRate": fmt(balance.maint_margin / margin_balance, 4),
        "totalPerpUPL": upl,
        "totalWalletBalance": wallet,
        "accountLTV": "0",
        "totalMaintenanceMargin": maint,
        "coin": [
            {
                "availableToBorrow": "",
                "bonus": "0",
                "accruedInterest": "0",
                "availableToWithdraw": "",
                "totalOrderIM": "0",
                "equity": equity,
                "totalPositionMM": maint,
                "usdValue": equity,
                "spotHedgingQty": "0",
                "unrealisedPnl": upl,
                "collateralSwitch": True,
                "borrowAmount": "0",
                "totalPositionIM": initial,
                "walletBalance": wallet,
                "cumRealisedPnl": fmt(account.realized_pnl - account.fees_paid + account.funding_total, 8),
                "locked": "0",
                "marginCollateral": True,
                "coin": "USDT",
            }
        ],
    }
