"""systemd's service notification protocol (sd_notify(3)): READY, STATUS, WATCHDOG and STOPPING messages.

The protocol is one datagram of newline-separated `KEY=value` lines sent to the AF_UNIX socket named by
$NOTIFY_SOCKET (a leading '@' means the abstract namespace). It is small and fixed, so it is written here over the
standard `socket` module instead of depending on `sdnotify`, whose last release is from 2017 and which blocks on
send. Outside systemd (no $NOTIFY_SOCKET) every call is a no-op.

The watchdog pings come from a task on the daemon's event loop, every half of $WATCHDOG_USEC: if the loop is
stuck, the pings stop and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress

from arbitrage.logging import get_logger

log = get_logger(__name__)

StatusSource = Callable[[], Awaitable[str]]


def socket_address(value: str | None) -> str | None:
    """The address to send to: an absolute path, or an abstract name ('@name' → '\\0name'); None if unusable."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. vsock:CID:PORT, which a service on this host never receives


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between pings (half the timeout systemd enforces), or None if no watchdog applies to this process."""
    usec = environ.get("WATCHDOG_USEC", "")
    owner = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and owner != str(pid):
        return None  # meant for another process (e.g. a parent that exec'd a helper)
    return int(usec) / 2 / 1_000_000


async def read_status(source: StatusSource) -> str:
    """The source's line, or what kept it from answering: the status line informs, it never stops the daemon."""
    try:
        return await source()
    except Exception as error:  # e.g. the database away for a moment
        return f"status unavailable ({type(error).__name__})"


class SystemdNotifier:
    def __init__(self, address: str | None, watchdog_seconds: float | None = None) -> None:
        self.address = address
        self.watchdog_seconds = watchdog_seconds if address is not None else None
        self._socket: socket.socket | None = None
        self._failing = False
        self._last_status: str | None = None
        self._stopping = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        environ = os.environ if environ is None else environ
        raw = environ.get("NOTIFY_SOCKET")
        address = socket_address(raw)
        if raw and address is None:
            log.warning("systemd_notify_socket_unsupported", notify_socket=raw)
        return cls(address, watchdog_interval(environ, os.getpid()))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *assignments: str) -> None:
        """One datagram with these `KEY=value` lines. Never raises: systemd being away must not stop trading."""
        if self.address is None:
            return
        message = "\n".join(assignments).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)
            self._socket.sendto(message, self.address)
        except OSError as error:
            if not self._failing:  # once per outage, not on every ping
                log.warning("systemd_notify_failed", error=str(error))
            self._failing = True
            return
        if self._failing:
            log.info("systemd_notify_recovered")
        self._failing = False

    def ready(self, status: str) -> None:
        self._last_status = status
        self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        """STATUS=, only when it changed."""
        if status != self._last_status:
            self._last_status = status
            self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> None:
        """STOPPING=1 with a last STATUS=, once (later calls do nothing)."""
        if self._stopping:
            return
        self._stopping = True
        self._last_status = status
        self.send("STOPPING=1", f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    async def watchdog_loop(self) -> None:
        """Ping until cancelled. Runs on the daemon's event loop on purpose: a blocked loop stops the pings."""
        if self.watchdog_seconds is None:
            return
        log.info("systemd_watchdog_enabled", interval_seconds=self.watchdog_seconds)
        while True:
            self.watchdog()
            await asyncio.sleep(self.watchdog_seconds)

    async def status_loop(self, source: StatusSource, interval_seconds: float) -> None:
        """Refresh STATUS= from `source` every interval until cancelled; a failing source is reported, not raised."""
        if not self.enabled:
            return  # nobody to tell: no reads for it
        while True:
            await asyncio.sleep(interval_seconds)
            if not self._stopping:
                self.status(await read_status(source))

    def close(self) -> None:
        if self._socket is not None:
            with suppress(OSError):
                self._socket.close()
            self._socket = None
