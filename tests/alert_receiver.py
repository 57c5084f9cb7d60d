"""A local HTTP receiver for Apprise's `json://` alerts (used by tests/ops and tests/e2e; importable from any test
folder because tests/ holds the root conftest)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "tok-3f9a1c7e5b2d8a64"  # the secret part of the URL: it must never show up in a log line


@dataclass
class AlertReceiver:
    port: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted alerts' JSON bodies
    attempts: int = 0  # every POST, answered or not
    fail_next: int = 0  # answer this many POSTs with 500
    hang: bool = False  # never answer
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, *params: str) -> str:
        query = "&".join(("rto=1", "cto=1", *params))
        return f"json://127.0.0.1:{self.port}/hooks/{TOKEN}?{query}"

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if request.match_info["token"] != TOKEN:
            return web.Response(status=404)
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500, text="down")
        self.received.append(json.loads(await request.read()))
        self._arrived.set()
        return web.Response(text="ok")

    async def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        async def enough() -> None:
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.received


@asynccontextmanager
async def alert_receiver() -> AsyncIterator[AlertReceiver]:
    receiver = AlertReceiver()
    app = web.Application()
    app.router.add_post("/hooks/{token}", receiver.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver
    finally:
        await runner.cleanup()
