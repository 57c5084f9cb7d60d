"""The aiohttp application: ``/{exchange_id}/...`` → rate limits → fault injection → dialect; ``/admin/...`` → admin."""

from __future__ import annotations

import asyncio
import time

import structlog
from aiohttp import web

from arbitrage.simulator.admin import add_admin_routes
from arbitrage.simulator.dialects import get_dialect
from arbitrage.simulator.dialects.common import Dialect, RequestContext, SimRequest
from arbitrage.simulator.errors import ErrorKind
from arbitrage.simulator.faults import Fault, FaultAction, LostMode
from arbitrage.simulator.requestlog import RequestRecord
from arbitrage.simulator.state import STATE_KEY, SimulatorState
from arbitrage.simulator.venue import Venue

log = structlog.get_logger(__name__)

SERVICE_UNAVAILABLE_PAGE = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)


def create_app(state: SimulatorState) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[STATE_KEY] = state
    add_admin_routes(app)
    app.router.add_route("*", "/{exchange}/{tail:.*}", handle_exchange_request)
    return app


async def handle_exchange_request(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    exchange_id = request.match_info["exchange"]
    new_connection = state.first_on_connection(request.transport)
    connection_age_ms = state.connection_age_ms(request.protocol) if new_connection else 0.0
    connection_delay_ms = await _new_connection_delay(state, exchange_id, connection_age_ms) if new_connection else 0
    received_ns = time.time_ns()
    arrived_ms = state.limiter.clock()  # the rate limits count the request from here, not from its processing
    started = time.perf_counter()
    # Real venues receive requests independently of processing them. One event loop serves all four here, so
    # before processing this request, requests already waiting on other connections are let in and stamped (two
    # loop turns: one reads their bytes, the next starts their handlers); otherwise this request's processing
    # would be counted in their arrival times.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    path = "/" + request.match_info["tail"]
    sim_request = await SimRequest.from_aiohttp(request, exchange_id, path, received_ns)
    record = state.requests.start(received_ns, exchange_id, request.method, path, sim_request.params)
    if new_connection:
        record.extra["new_connection"] = True
        record.extra["connection_age_ms"] = round(connection_age_ms, 1)
    if connection_delay_ms:
        record.extra["new_connection_delay_ms"] = connection_delay_ms
    try:
        return await _dispatch(state, request, sim_request, record, arrived_ms)
    finally:
        record.duration_ms = round((time.perf_counter() - started) * 1000, 3)


async def _dispatch(
    state: SimulatorState, request: web.Request, sim_request: SimRequest, record: RequestRecord, arrived_ms: float
) -> web.StreamResponse:
    engine = state.engine
    engine.process_due()  # lazy funding catch-up: state is right even if the background task is late
    venue = engine.venues.get(sim_request.exchange_id)
    if venue is None:
        return _finish(record, web.json_response({"error": f"unknown exchange {sim_request.exchange_id}"}, status=404))
    dialect = get_dialect(sim_request.exchange_id)
    if dialect is None:
        text = f"the {sim_request.exchange_id} dialect is not implemented in this simulator build"
        return _finish(record, web.Response(status=501, text=text))

    refusal, usages = state.limiter.admit(
        venue.id, venue.config.rate_limits, sim_request.method, sim_request.path, sim_request.params,
        dialect.api_key(sim_request), request.remote or "unknown", at_ms=arrived_ms,
    )
    if refusal is not None:  # refused at the door: not processed, and no fault is used up
        record.error_kind, record.error_message = refusal.rule.kind.value, refusal.message
        return _finish(record, dialect.rate_limit_response(refusal, sim_request), "rate_limited")
    fault = state.faults.take(sim_request.exchange_id, sim_request.method, sim_request.path, sim_request.params)
    # A live exchange finishes what it received even when the client hangs up meanwhile (say, it timed out while
    # the request was held): processing is shielded from the handler's cancellation.
    processing = asyncio.ensure_future(_process(state, dialect, venue, request, sim_request, record, fault))
    response = await asyncio.shield(processing)
    if usages and not response.prepared:
        response.headers.update(dialect.rate_limit_headers(usages))
    if fault is not None and record.outcome == f"fault:{FaultAction.LOST_RESPONSE.value}":
        if fault.lost_mode is LostMode.DROP:
            _drop(request)
            return response
        await asyncio.sleep(fault.lost_delay_ms / 1000)
    return response


async def _process(
    state: SimulatorState, dialect: Dialect, venue: Venue, request: web.Request, sim_request: SimRequest,
    record: RequestRecord, fault: Fault | None,
) -> web.StreamResponse:
    if fault is not None:
        record.fault_id = fault.id
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        early = _fault_response(dialect, fault, request, record)
        if early is not None:
            return early
    ctx = RequestContext(state.engine, venue, sim_request, faults=state.faults)
    try:
        result = await dialect.handle(ctx)
    except Exception as error:  # a simulator bug: answer like the exchange would, but make it visible
        log.exception("simulator_handler_failed", exchange=sim_request.exchange_id, path=sim_request.path)
        record.error_message = f"{type(error).__name__}: {error}"
        return _finish(record, dialect.error_response(ErrorKind.INTERNAL_ERROR), "exception")
    record.error_kind = result.error_kind.value if result.error_kind else None
    record.error_message = result.error_message
    record.timestamp_ms, record.recv_window_ms = ctx.timestamp_ms, ctx.recv_window_ms
    if ctx.partial_fill_id is not None and record.fault_id is None:
        record.fault_id = ctx.partial_fill_id
    record.status = result.response.status
    lost = fault is not None and fault.action is FaultAction.LOST_RESPONSE
    record.outcome = f"fault:{FaultAction.LOST_RESPONSE.value}" if lost else "error" if result.error_kind else "ok"
    return result.response


def _fault_response(
    dialect: Dialect, fault: Fault, request: web.Request, record: RequestRecord
) -> web.StreamResponse | None:
    """The response of a fault that short-circuits processing, or None to go on (latency, lost response)."""
    if fault.action is FaultAction.ERROR:
        if fault.error_kind is not None:
            overrides = {"msg": fault.message} if fault.message else {}
            response: web.StreamResponse = dialect.error_response(fault.error_kind, fault.message, overrides)
            record.error_kind = fault.error_kind.value
        else:
            response = web.Response(status=fault.status or 400, text=fault.body or "")
        return _finish(record, response, f"fault:{fault.action.value}")
    if fault.action is FaultAction.HTTP_5XX:
        body = fault.body if fault.body is not None else SERVICE_UNAVAILABLE_PAGE
        response = web.Response(status=fault.status or 503, text=body, content_type="text/html")
        return _finish(record, response, f"fault:{fault.action.value}")
    if fault.action is FaultAction.DROP:
        _drop(request)
        record.outcome = "fault:drop"
        return web.Response(status=499)
    return None


async def _new_connection_delay(state: SimulatorState, exchange_id: str, connection_age_ms: float) -> int:
    """Hold the first request of a new TCP connection until the venue's TLS handshake, begun when the connection
    was accepted, would be done (a connection opened well before its first request has paid it already)."""
    venue = state.engine.venues.get(exchange_id)
    handshake_ms = venue.config.new_connection_delay_ms if venue is not None else 0
    delay_ms = max(0, round(handshake_ms - connection_age_ms))
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    return delay_ms


def _drop(request: web.Request) -> None:
    """Close the TCP connection without answering (the client sees a server disconnect)."""
    if request.transport is not None:
        request.transport.close()


def _finish(record: RequestRecord, response: web.StreamResponse, outcome: str | None = None) -> web.StreamResponse:
    record.status = response.status
    record.outcome = outcome or ("ok" if response.status < 400 else "error")
    return response


__all__ = ["STATE_KEY", "SimulatorState", "create_app"]
