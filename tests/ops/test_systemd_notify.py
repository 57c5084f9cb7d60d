"""The sd_notify protocol against a real datagram socket: READY, STATUS, WATCHDOG at half WATCHDOG_USEC, STOPPING."""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import pytest
from notify_socket import notify_socket

from arbitrage.ops.systemd import SystemdNotifier, read_status, socket_address, watchdog_interval


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("/run/systemd/notify", "/run/systemd/notify"),
        ("@/org/freedesktop/systemd1/notify/123", "\0/org/freedesktop/systemd1/notify/123"),
        ("vsock:2:1234", None),
        ("relative/path", None),
        ("", None),
        (None, None),
    ],
)
def test_socket_address(value, address):
    assert socket_address(value) == address


@pytest.mark.parametrize(
    ("environ", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 15.0),  # this process is 4242
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # another process's watchdog
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process(environ, interval):
    assert watchdog_interval(environ, 4242) == interval


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_status_and_stopping_arrive_as_datagrams(abstract):
    with notify_socket(abstract=abstract) as sock:
        notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": sock.env_value})
        notifier.ready("0 scheduled")
        notifier.status("1 scheduled")
        notifier.status("1 scheduled")  # unchanged: not sent again
        notifier.stopping("stopping: 1 subscription(s) finishing their step")
        notifier.stopping("stopped")  # once only
        notifier.close()
        time.sleep(0.1)
        received = [d.fields for d in sock.received]
    assert received == [
        {"READY": "1", "STATUS": "0 scheduled"},
        {"STATUS": "1 scheduled"},
        {"STOPPING": "1", "STATUS": "stopping: 1 subscription(s) finishing their step"},
    ]


async def test_watchdog_pings_every_half_timeout_from_the_event_loop():
    with notify_socket() as sock:
        environ = {"NOTIFY_SOCKET": sock.env_value, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
        notifier = SystemdNotifier.from_environment(environ)
        assert notifier.watchdog_seconds == 0.05
        task = asyncio.create_task(notifier.watchdog_loop())
        await asyncio.sleep(0.52)
        time.sleep(0.3)  # a stuck event loop: no ping can go out meanwhile
        await asyncio.sleep(0.12)
        task.cancel()
        await asyncio.sleep(0.02)
        pings = [d.at for d in sock.with_key("WATCHDOG")]
    gaps = [later - earlier for earlier, later in zip(pings, pings[1:])]
    assert len(pings) >= 8  # about 11 in 0.52 s; a loaded machine may lose one or two
    assert statistics.median(gaps) == pytest.approx(0.05, abs=0.015)
    assert max(gaps) >= 0.29, "the loop was blocked 0.3 s: the pings must have stopped meanwhile"


def test_no_socket_means_no_op_and_a_dead_socket_never_raises(tmp_path):
    SystemdNotifier.from_environment({}).ready("x")  # outside systemd: nothing to send, nothing raised
    assert not SystemdNotifier.from_environment({}).enabled
    notifier = SystemdNotifier(str(tmp_path / "nobody-listens"))
    notifier.ready("x")
    notifier.watchdog()
    notifier.close()


async def test_status_loop_refreshes_and_reports_a_failing_source():
    answers = iter(["1 scheduled", "1 scheduled", "2 scheduled"])

    async def source() -> str:
        try:
            return next(answers)
        except StopIteration:
            raise ConnectionError("database away") from None

    with notify_socket() as sock:
        notifier = SystemdNotifier(sock.env_value)
        notifier.ready(await read_status(source))
        task = asyncio.create_task(notifier.status_loop(source, 0.02))
        await asyncio.sleep(0.15)
        task.cancel()
        await asyncio.sleep(0.05)
        statuses = [d.fields["STATUS"] for d in sock.with_key("STATUS")]
    assert statuses == ["1 scheduled", "2 scheduled", "status unavailable (ConnectionError)"]
