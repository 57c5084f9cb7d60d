"""A real AF_UNIX datagram socket standing in for systemd's notify socket: what the daemon sends, with arrival times.

A thread reads it all the time, as systemd does (an unread datagram socket fills up after a few messages), and
stamps each datagram when it arrives.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Datagram:
    at: float  # time.monotonic() on arrival
    fields: dict[str, str]


class NotifySocket:
    def __init__(self, sock: socket.socket, env_value: str) -> None:
        self.sock = sock
        self.env_value = env_value  # what NOTIFY_SOCKET is set to
        self._received: list[Datagram] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        self.sock.settimeout(0.05)
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            at = time.monotonic()
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
            with self._lock:
                self._received.append(Datagram(at, fields))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        self.sock.close()

    @property
    def received(self) -> list[Datagram]:
        with self._lock:
            return list(self._received)

    def with_key(self, key: str) -> list[Datagram]:
        return [d for d in self.received if key in d.fields]

    def wait_for(self, key: str, timeout: float) -> Datagram:
        deadline = time.monotonic() + timeout
        while not (found := self.with_key(key)):
            assert time.monotonic() < deadline, f"no {key}= within {timeout} s: {self.received[-5:]}"
            time.sleep(0.02)
        return found[0]


@contextmanager
def notify_socket(abstract: bool = False) -> Iterator[NotifySocket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"arbitrage-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        listener = NotifySocket(sock, "@" + name)
        try:
            yield listener
        finally:
            listener.close()
        return
    # A short directory: socket paths are limited to 107 bytes, pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="sdn-", dir="/tmp")
    path = os.path.join(directory, "notify")
    sock.bind(path)
    listener = NotifySocket(sock, path)
    try:
        yield listener
    finally:
        listener.close()
        os.unlink(path)
        os.rmdir(directory)
