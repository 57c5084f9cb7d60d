"""What the daemon does when its lock watch reports a loss: stop and fail, unless it was already stopping."""

from __future__ import annotations

from arbitrage.daemon import Daemon
from arbitrage.settings import Settings


def test_a_loss_while_running_stops_the_daemon_and_is_its_error():
    daemon = Daemon(Settings(database_url="sqlite:///:memory:"))
    daemon._on_lock_lost("lost the daemon lock of x: another daemon holds it now")
    assert daemon.stop.is_set()
    assert daemon._lock_lost == "lost the daemon lock of x: another daemon holds it now"


def test_a_loss_noticed_while_stopping_keeps_the_requested_stop():
    daemon = Daemon(Settings(database_url="sqlite:///:memory:"))
    daemon.stop.set()  # SIGTERM came first (e.g. the database was being dropped under a daemon told to stop)
    daemon._on_lock_lost("lost the daemon lock of x: the database does not answer (DBAPIError)")
    assert daemon._lock_lost is None
