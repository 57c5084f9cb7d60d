"""Admin JSON API under ``/admin/...``: inspect and steer the simulated exchanges (tests, demos, humans with curl)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import InvalidOperation
from typing import Any

from aiohttp import web

from arbitrage.simulator.dialects import available_dialects
from arbitrage.simulator.errors import SimError
from arbitrage.simulator.rate_limits import rate_limit_config
from arbitrage.simulator.scenario import ScenarioError, instrument_from_dict
from arbitrage.simulator.state import SimulatorState, simulator_state

AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_admin_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/admin/state", _guard(get_state))
    router.add_get("/admin/requests", _guard(get_requests))
    router.add_post("/admin/reset", _guard(post_reset))
    router.add_get("/admin/faults", _guard(get_faults))
    router.add_post("/admin/faults", _guard(post_fault))
    router.add_delete("/admin/faults", _guard(delete_faults))
    router.add_post("/admin/mark_price", _guard(post_mark_price))
    router.add_post("/admin/funding", _guard(post_funding))
    router.add_post("/admin/accounts", _guard(post_accounts))
    router.add_post("/admin/instruments", _guard(post_instruments))
    router.add_post("/admin/rate_limits", _guard(post_rate_limits))
    router.add_post("/admin/clock", _guard(post_clock))


def _state(request: web.Request) -> SimulatorState:
    return simulator_state(request)


def _guard(handler: AdminHandler) -> AdminHandler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimError as error:
            return web.json_response({"error": error.message, "kind": error.kind.value}, status=400)
        except KeyError as error:
            return web.json_response({"error": f"missing field {error}"}, status=400)
        except (ValueError, TypeError, InvalidOperation, ScenarioError) as error:
            return web.json_response({"error": str(error) or type(error).__name__}, status=400)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError as error:
        raise ValueError(f"the body must be a JSON object: {error}") from error
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


async def get_state(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    dump = state.engine.dump()
    dump["faults"] = [fault.to_dict() for fault in state.faults.list()]
    dump["dialects"] = available_dialects()
    dump["rate_limit_usage"] = state.limiter.usage()
    return web.json_response(dump)


async def get_requests(request: web.Request) -> web.StreamResponse:
    query = request.query
    since = query.get("since")
    records = _state(request).requests.query(
        exchange=query.get("exchange"),
        path=query.get("path"),
        since_ns=int(since) if since else None,
        method=query.get("method"),
        outcome=query.get("outcome"),
    )
    return web.json_response({"requests": [record.to_dict() for record in records]})


async def post_reset(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    body = await _body(request)
    state.engine.reset()
    state.limiter.clear()
    if body.get("faults", True):
        state.faults.clear()
    if body.get("requests", True):
        state.requests.clear()
    return web.json_response({"reset": True})


async def get_faults(request: web.Request) -> web.StreamResponse:
    return web.json_response({"faults": [fault.to_dict() for fault in _state(request).faults.list()]})


async def post_fault(request: web.Request) -> web.StreamResponse:
    fault = _state(request).faults.add(**await _body(request))
    return web.json_response({"fault": fault.to_dict()})


async def delete_faults(request: web.Request) -> web.StreamResponse:
    faults = _state(request).faults
    if "id" in request.query:
        removed = 1 if faults.remove(int(request.query["id"])) else 0
    else:
        removed = faults.clear(request.query.get("exchange"))
    return web.json_response({"removed": removed})


async def post_mark_price(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    engine = _state(request).engine
    engine.set_mark_price(body["exchange"], body["symbol"], body["price"], body.get("index_price"))
    return web.json_response({"instrument": engine.venue(body["exchange"]).instrument(body["symbol"]).to_dict()})


async def post_funding(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    engine = _state(request).engine
    instrument = engine.set_funding(
        body["exchange"],
        body["symbol"],
        rate=body.get("rate"),
        next_funding_time=body.get("next_funding_time"),
        next_funding_in_seconds=body.get("next_funding_in_seconds"),
        interval_s=_interval_seconds(body),
        realign=body.get("interval_hours") is not None,
        delay_s=body.get("delay_seconds"),
    )
    return web.json_response({"instrument": instrument.to_dict()})


def _interval_seconds(body: dict[str, Any]) -> int | None:
    """``interval_hours`` (1, 4, 8 ...: a change moves the next funding to the new interval's next UTC boundary when
    that comes sooner, unless the body gives it) or ``interval_seconds`` (short test schedules, nothing moved)."""
    if body.get("interval_hours") is not None:
        return int(float(body["interval_hours"]) * 3600)
    value = body.get("interval_seconds")
    return None if value is None else int(value)


async def post_accounts(request: web.Request) -> web.StreamResponse:
    """Create an account (api_key + secret not yet known) or change balance / position mode of one."""
    body = await _body(request)
    engine = _state(request).engine
    exchange_id = body["exchange"]
    api_key = body.get("api_key")
    venue = engine.venue(exchange_id)
    if api_key is not None and api_key not in venue.accounts:
        if not body.get("secret"):
            raise ValueError(f"no account with that api_key on {exchange_id}; give 'secret' to create one")
        account = engine.add_account(
            exchange_id,
            api_key,
            body["secret"],
            body.get("balance", "0"),
            hedge_mode=body.get("position_mode") == "hedge",
            name=str(body.get("name", "")),
        )
    else:
        account = engine.account(exchange_id, api_key)
        if body.get("balance") is not None:
            engine.set_balance(exchange_id, body["balance"], account.api_key)
        if body.get("position_mode") is not None:
            mode = str(body["position_mode"]).lower().replace("-", "_")
            if mode not in ("one_way", "hedge"):
                raise ValueError("position_mode must be 'one_way' or 'hedge'")
            engine.set_position_mode(exchange_id, mode == "hedge", account.api_key)
    return web.json_response({"account": venue.account_dict(account)})


async def post_instruments(request: web.Request) -> web.StreamResponse:
    """Add an instrument (scenario format) or update fields of an existing one (``listed: false`` delists)."""
    body = dict(await _body(request))
    engine = _state(request).engine
    exchange_id = body.pop("exchange")
    symbol = body["symbol"]
    venue = engine.venue(exchange_id)
    if symbol not in venue.instruments:
        instrument = engine.add_instrument(exchange_id, instrument_from_dict(body, f"instrument {symbol}", venue.now()))
    else:
        body.pop("symbol")
        renames = {"interval_seconds": "funding_interval_s", "delay_seconds": "settlement_delay_s"}
        instrument = engine.update_instrument(exchange_id, symbol, **{renames.get(k, k): v for k, v in body.items()})
    return web.json_response({"instrument": instrument.to_dict()})


async def post_rate_limits(request: web.Request) -> web.StreamResponse:
    """Replace one venue's limits (scenario ``settings.rate_limits`` format; its windows start empty) until the next
    reset."""
    body = await _body(request)
    state = _state(request)
    venue = state.engine.venue(body["exchange"])
    venue.config.rate_limits = rate_limit_config(venue.id, body.get("rate_limits"))
    state.limiter.clear(venue.id)
    return web.json_response({"rate_limits": venue.config.rate_limits.to_dict()})


async def post_clock(request: web.Request) -> web.StreamResponse:
    """Run one exchange's clock ahead (positive ``offset_ms``) or behind the host's, until the next reset."""
    body = await _body(request)
    engine = _state(request).engine
    engine.set_clock_offset(body["exchange"], int(body["offset_ms"]))
    venue = engine.venue(body["exchange"])
    return web.json_response({"exchange": venue.id, "clock_offset_ms": venue.config.clock_offset_ms, "now": venue.now()})
