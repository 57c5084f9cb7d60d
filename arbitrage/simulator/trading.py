"""Market-order validation and execution against one account of a venue.

Checks run in the order real exchanges apply them: symbol → type → position side → client id → quantity filters →
reduce-only rules → min notional → leverage tier → margin. Every rejection is a :class:`SimError` with a neutral kind.
A validated order may still fill only partly (thin book, see :func:`executable_quantity`): it then ends EXPIRED.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from arbitrage.simulator.accounts import (
    Account,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
)
from arbitrage.simulator.errors import ErrorKind, SimError
from arbitrage.simulator.instruments import Instrument
from arbitrage.simulator.venue import Venue

ZERO = Decimal(0)
BPS = Decimal(10000)


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    return (price / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick


def fill_price(venue: Venue, instrument: Instrument, side: Side) -> Decimal:
    slip = venue.config.slippage_bps / BPS
    factor = Decimal(1) + slip if side is Side.BUY else Decimal(1) - slip
    return round_to_tick(instrument.mark_price * factor, instrument.tick_size)


def resolve_position_side(account: Account, request: OrderRequest) -> PositionSide:
    requested = request.position_side
    if account.hedge_mode:
        if requested not in (PositionSide.LONG, PositionSide.SHORT):
            raise SimError(
                ErrorKind.POSITION_SIDE_MISMATCH,
                "hedge mode requires position side LONG or SHORT",
                position_side=requested.value if requested else None,
            )
        return requested
    if requested not in (None, PositionSide.BOTH):
        raise SimError(
            ErrorKind.POSITION_SIDE_MISMATCH,
            "one-way mode requires position side BOTH",
            position_side=requested.value if requested else None,
        )
    return PositionSide.BOTH


def check_quantity(instrument: Instrument, quantity: Decimal) -> None:
    if not quantity.is_finite() or quantity <= 0:
        raise SimError(ErrorKind.INVALID_QUANTITY, "quantity must be greater than zero", quantity=str(quantity))
    if quantity % instrument.step_size != 0:
        raise SimError(
            ErrorKind.QUANTITY_STEP,
            f"quantity {quantity} is not a multiple of the step size {instrument.step_size}",
            quantity=str(quantity),
            step=str(instrument.step_size),
        )
    if quantity < instrument.min_qty:
        raise SimError(
            ErrorKind.QUANTITY_BELOW_MIN,
            f"quantity {quantity} is below the minimum {instrument.min_qty}",
            quantity=str(quantity),
            min_qty=str(instrument.min_qty),
        )
    if quantity > instrument.max_qty:
        raise SimError(
            ErrorKind.QUANTITY_ABOVE_MAX,
            f"quantity {quantity} is above the maximum {instrument.max_qty}",
            quantity=str(quantity),
            max_qty=str(instrument.max_qty),
        )


def execute_order(venue: Venue, account: Account, request: OrderRequest) -> Order:
    instrument = venue.instrument(request.symbol)
    if not instrument.listed:
        raise SimError(ErrorKind.SYMBOL_DELISTED, f"{request.symbol} is not trading", symbol=request.symbol)
    if request.order_type is not OrderType.MARKET:
        raise SimError(
            ErrorKind.ORDER_TYPE_UNSUPPORTED,
            f"order type {request.order_type.value} is not supported by the simulator (market only)",
        )
    position_side = resolve_position_side(account, request)
    if request.client_order_id is not None and request.client_order_id in account.orders_by_client_id:
        raise SimError(
            ErrorKind.DUPLICATE_CLIENT_ORDER_ID,
            f"client order id {request.client_order_id} is duplicated",
            client_order_id=request.client_order_id,
        )
    quantity = request.quantity
    check_quantity(instrument, quantity)

    position = account.positions.get((request.symbol, position_side))
    current = position.size if position is not None else ZERO
    delta = quantity if request.side is Side.BUY else -quantity
    reducing = current != 0 and (current > 0) != (delta > 0)
    closing_qty = min(quantity, abs(current)) if reducing else ZERO
    opening_qty = quantity - closing_qty

    if account.hedge_mode:
        closes = (position_side is PositionSide.LONG) == (request.side is Side.SELL)
        if closes:
            if current == 0:
                raise SimError(ErrorKind.NO_POSITION, f"no {position_side.value} position to close")
            if quantity > abs(current):
                raise SimError(
                    ErrorKind.REDUCE_ONLY_REJECTED,
                    f"close quantity {quantity} exceeds the {position_side.value} position {abs(current)}",
                )
        elif request.reduce_only:
            raise SimError(ErrorKind.REDUCE_ONLY_REJECTED, "reduce-only order would increase the position")
        skip_min_notional = closes
    else:
        if request.reduce_only:
            if current == 0:
                raise SimError(ErrorKind.NO_POSITION, "reduce-only order with no position to close")
            if not reducing or quantity > abs(current):
                raise SimError(
                    ErrorKind.REDUCE_ONLY_REJECTED, "reduce-only order would increase or flip the position"
                )
        skip_min_notional = request.reduce_only

    mark = instrument.mark_price
    if not skip_min_notional:
        notional = instrument.base_quantity(quantity) * mark
        if notional < instrument.min_notional:
            raise SimError(
                ErrorKind.NOTIONAL_BELOW_MIN,
                f"order notional {notional} is below the minimum {instrument.min_notional}",
                notional=str(notional),
                min_notional=str(instrument.min_notional),
            )

    new_size = current + delta
    leverage = venue.leverage_for(account, request.symbol, position_side, new_size > 0 or (new_size == 0 and delta > 0))
    price = fill_price(venue, instrument, request.side)
    fee_on_request = instrument.base_quantity(quantity) * price * instrument.taker_fee

    if opening_qty > 0:
        resulting_notional = instrument.base_quantity(abs(new_size)) * mark
        tier_max = instrument.max_leverage_at(resulting_notional)
        if leverage > tier_max:
            raise SimError(
                ErrorKind.POSITION_EXCEEDS_LEVERAGE_TIER,
                f"position notional {resulting_notional} exceeds the maximum allowed at leverage {leverage}",
                leverage=leverage,
                max_leverage=tier_max,
            )
        released = ZERO
        if closing_qty > 0 and position is not None:
            released = instrument.base_quantity(closing_qty) * mark / Decimal(
                venue.leverage_for(account, request.symbol, position_side, current > 0)
            )
        required = instrument.base_quantity(opening_qty) * price / Decimal(leverage) + fee_on_request
        available = venue.balance(account).available + released
        if required > available:
            raise SimError(
                ErrorKind.INSUFFICIENT_MARGIN,
                f"margin is insufficient: required {required:.8f}, available {available:.8f}",
                required=str(required),
                available=str(available),
            )

    # Validated on the requested quantity (as exchanges do); a thin book then fills only part of it.
    executed = executable_quantity(instrument, request)
    delta = executed if request.side is Side.BUY else -executed
    closing_qty = min(executed, abs(current)) if reducing else ZERO
    quote = instrument.base_quantity(executed) * price
    fee = quote * instrument.taker_fee

    now = venue.now()
    realized = ZERO
    if closing_qty > 0 and position is not None:
        direction = Decimal(1) if current > 0 else Decimal(-1)
        realized = (price - position.entry_price) * instrument.base_quantity(closing_qty) * direction
    if executed > 0:
        position = _apply_to_position(venue, account, position, request.symbol, position_side, delta, price, now)
        position.realized_pnl += realized - fee

    account.balance += realized - fee
    account.realized_pnl += realized
    account.fees_paid += fee
    account.update_time = now

    order = Order(
        id=venue.next_id("order"),
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        position_side=position_side,
        quantity=quantity,
        executed_qty=executed,
        avg_price=price if executed > 0 else ZERO,
        cum_quote=quote,
        fee=fee,
        realized_pnl=realized,
        reduce_only=request.reduce_only,
        status=OrderStatus.FILLED if executed == quantity else OrderStatus.EXPIRED,
        client_order_id=request.client_order_id,
        create_time=now,
        update_time=now,
        leverage=leverage,
        price=request.price,
    )
    account.orders.append(order)
    account.orders_by_id[order.id] = order
    if order.client_order_id is not None:
        account.orders_by_client_id[order.client_order_id] = order
    if executed > 0:
        account.fills.append(
            Fill(
                id=venue.next_id("trade"),
                order_id=order.id,
                symbol=request.symbol,
                side=request.side,
                position_side=position_side,
                price=price,
                quantity=executed,
                quote_qty=quote,
                fee=fee,
                fee_rate=instrument.taker_fee,
                realized_pnl=realized,
                time=now,
                client_order_id=request.client_order_id,
            )
        )
    return order


def executable_quantity(instrument: Instrument, request: OrderRequest) -> Decimal:
    """What the book lets a market order fill: the quantity, capped by the order's ``max_fill_quantity`` (a
    ``partial_fill`` fault) and the instrument's ``market_liquidity``, rounded DOWN to the step (may be 0)."""
    caps = [cap for cap in (request.max_fill_quantity, instrument.market_liquidity) if cap is not None]
    if not caps or min(caps) >= request.quantity:
        return request.quantity
    step = instrument.step_size
    return max(ZERO, (min(caps) / step).to_integral_value(rounding=ROUND_FLOOR) * step)


def _apply_to_position(
    venue: Venue,
    account: Account,
    position: Position | None,
    symbol: str,
    position_side: PositionSide,
    delta: Decimal,
    price: Decimal,
    now: int,
) -> Position:
    if position is None or position.size == 0:
        position = Position(
            id=venue.next_id("position"),
            symbol=symbol,
            position_side=position_side,
            size=ZERO,
            entry_price=ZERO,
            open_time=now,
        )
        account.positions[(symbol, position_side)] = position
    current = position.size
    new_size = current + delta
    if current == 0 or (current > 0) == (delta > 0):
        position.entry_price = (abs(current) * position.entry_price + abs(delta) * price) / abs(new_size)
    elif new_size == 0:
        position.entry_price = ZERO
    elif (new_size > 0) != (current > 0):  # flipped: the remainder opened at the fill price
        position.entry_price = price
        position.open_time = now
    position.size = new_size
    position.update_time = now
    if new_size == 0:
        del account.positions[(symbol, position_side)]
    return position
