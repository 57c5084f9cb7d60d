"""Alerts through Apprise (Telegram, Slack, Discord, e-mail, a plain `json://` webhook, ...), off the trading path.

The journal tells every committed status change to `AlertWorker.submit`, which only filters and puts the change in
a bounded queue: it never waits, so a slow or dead alert target can never delay an order. A background task takes
the changes one by one, reads the subscription's orders (for the amounts that traded), formats one message and
sends it to every target concurrently, each target with its own retries. A full queue drops the alert with an
error log line rather than grow without bound.

ARBITRAGE_ALERT_URLS holds tokens: no URL is ever logged or put in an error; a target is named by its position and
scheme (`alert target 2 (tgram)`), and every piece of every URL is registered with the log redactor (settings).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import apprise

from arbitrage.db.models import Order
from arbitrage.domain.status import Status
from arbitrage.logging import get_logger, redact_text
from arbitrage.services.journal import StatusChange, SubscriptionJournal
from arbitrage.settings import Settings

log = get_logger(__name__)

QUEUE_SIZE = 100
# Waits before the 2nd, 3rd and 4th attempt; a webhook that is down for a minute still gets the alert.
RETRY_DELAYS_SECONDS = (2.0, 10.0, 30.0)
# One attempt at one target may take this long (Apprise's own socket timeouts are 4 s by default, `?rto=`/`?cto=`);
# on shutdown, the alerts still queued get as long to go out. Both ARBITRAGE_ALERT_TIMEOUT_SECONDS.
DEFAULT_TIMEOUT_SECONDS = 10.0

_NOTIFY_TYPES = {
    Status.NEEDS_ATTENTION: apprise.NotifyType.FAILURE,
    Status.ERROR: apprise.NotifyType.FAILURE,
    Status.SKIPPED: apprise.NotifyType.WARNING,
    Status.COMPLETED: apprise.NotifyType.SUCCESS,
}

OrdersOf = Callable[[int], Awaitable[Sequence[Order]]]


@dataclass(frozen=True)
class Alert:
    title: str
    body: str
    notify_type: apprise.NotifyType


class AlertTarget:
    """One configured URL. Its own Apprise object, so that a retry never repeats a message another target got."""

    def __init__(self, url: str, position: int) -> None:
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url):  # settings validated it; this would be a library change
            raise ValueError(f"alert target {position} is not an Apprise URL")
        self.label = f"alert target {position} ({url.split('://', 1)[0]})"

    async def send(self, alert: Alert, timeout: float) -> bool:
        result = await self._apprise.async_notify(
            body=alert.body, title=alert.title, notify_type=alert.notify_type, timeout=timeout
        )
        return bool(result)


class AlertWorker:
    def __init__(
        self,
        targets: Sequence[AlertTarget],
        statuses: frozenset[Status],
        *,
        orders_of: OrdersOf | None = None,
        queue_size: int = QUEUE_SIZE,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
        attempt_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        drain_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.targets = list(targets)
        self.statuses = statuses | {Status.NEEDS_ATTENTION}
        self.orders_of = orders_of
        self.retry_delays = tuple(retry_delays)
        self.attempt_timeout = attempt_timeout
        self.drain_seconds = drain_seconds
        self.queue: asyncio.Queue[StatusChange] = asyncio.Queue(maxsize=queue_size)
        self.sent = 0  # alerts delivered to every target
        self.failed = 0  # alerts at least one target never got
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, orders_of: OrdersOf | None = None, **options: Any) -> AlertWorker:
        targets = [AlertTarget(url, position) for position, url in enumerate(settings.alert_url_list(), start=1)]
        timeouts = {"attempt_timeout": settings.alert_timeout_seconds, "drain_seconds": settings.alert_timeout_seconds}
        return cls(targets, settings.alert_statuses, orders_of=orders_of, **{**timeouts, **options})

    # --- the journal's side: never blocks ----------------------------------------------------------------------

    def submit(self, change: StatusChange) -> None:
        """The journal's observer: queue the change if its status alerts; return at once either way."""
        if not self.targets or change.to_status not in self.statuses:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            log.error("alert_dropped", subscription_id=change.subscription_id, status=change.to_status,
                      reason=f"{self.queue.maxsize} alerts are waiting already")

    # --- the background task -----------------------------------------------------------------------------------

    def start(self) -> None:
        if self.targets and self._task is None:
            self._task = asyncio.create_task(self._run(), name="alert-worker")

    async def close(self) -> None:
        """Give the queued alerts `drain_seconds` to go out, then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), timeout=self.drain_seconds)
        except TimeoutError:
            log.error("alerts_not_sent_at_shutdown", waiting=self.queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        while True:
            change = await self.queue.get()
            try:
                await self.deliver(change)
            except Exception:  # a formatting or database bug must not end the worker
                log.exception("alert_failed", subscription_id=change.subscription_id)
            finally:
                self.queue.task_done()

    async def deliver(self, change: StatusChange) -> bool:
        alert = format_alert(change, await self._orders(change.subscription_id))
        results = await asyncio.gather(*(self._send_with_retries(target, alert, change) for target in self.targets))
        if all(results):
            self.sent += 1
        else:
            self.failed += 1
        return all(results)

    async def _orders(self, subscription_id: int) -> Sequence[Order]:
        if self.orders_of is None:
            return []
        try:
            return await self.orders_of(subscription_id)
        except Exception as error:  # the alert goes out without the order lines
            log.warning("alert_orders_unreadable", subscription_id=subscription_id, error=str(error))
            return []

    async def _send_with_retries(self, target: AlertTarget, alert: Alert, change: StatusChange) -> bool:
        attempts = len(self.retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                delivered = await asyncio.wait_for(target.send(alert, self.attempt_timeout), self.attempt_timeout)
                error = None if delivered else "the target did not accept it"
            except TimeoutError:
                delivered, error = False, f"no answer within {self.attempt_timeout:g} s"
            except Exception as caught:  # Apprise's own errors: one more attempt
                delivered, error = False, redact_text(str(caught) or type(caught).__name__)
            if delivered:
                log.info("alert_sent", subscription_id=change.subscription_id, status=change.to_status,
                         target=target.label, attempt=attempt)
                return True
            if attempt == attempts:
                log.error("alert_not_delivered", subscription_id=change.subscription_id, status=change.to_status,
                          target=target.label, attempts=attempts, error=error)
                return False
            log.warning("alert_retry", subscription_id=change.subscription_id, target=target.label,
                        attempt=attempt, error=error)
            await asyncio.sleep(self.retry_delays[attempt - 1])
        return False  # pragma: no cover


def start_alerts(settings: Settings, journal: SubscriptionJournal) -> AlertWorker:
    """The daemon's one call: a worker listening to `journal` (a no-op without ARBITRAGE_ALERT_URLS)."""
    worker = AlertWorker.from_settings(settings, orders_of=journal.orders)
    if worker.targets:
        journal.observers.append(worker.submit)
        worker.start()
        log.info("alerts_enabled", targets=len(worker.targets), statuses=sorted(worker.statuses))
    return worker


# --- the message ---------------------------------------------------------------------------------------------------


def format_alert(change: StatusChange, orders: Sequence[Order] = ()) -> Alert:
    """Title and body of one status change: the subscription, its legs, amounts, why, and the result figures."""
    status = change.to_status
    title = f"arbitrage: subscription {change.subscription_id} {status}"
    lines = [
        f"subscription {change.subscription_id}: {change.from_status} -> {status} at {change.at.isoformat()}",
        f"primary: {change.primary_exchange} {change.primary_symbol} {change.side.lower()} {_num(change.amount)}",
        f"hedge: {change.hedge_exchange} {change.hedge_symbol} {change.side.opposite.lower()} {_num(change.amount)}",
        f"funding time: {change.funding_time.isoformat()}"
        + (f", leverage {change.applied_leverage}" if change.applied_leverage is not None else ""),
    ]
    if change.reason:
        lines.append(f"reason: {change.reason}")
    if change.error_message and change.error_message != change.reason:
        lines.append(f"note: {change.error_message}")
    if status is Status.NEEDS_ATTENTION:
        lines.append("exposure may remain on an exchange: check both positions and close what is left")
    for order in orders:
        lines.append(_order_line(order))
    figures = [(name, value) for name, value in (("funding received", change.funding_received),
                                                  ("fees", change.fees), ("realized PnL", change.realized_pnl))
               if value is not None]
    if figures:
        lines.append(", ".join(f"{name} {_num(value)} USDT" for name, value in figures))
    # Exchange errors in the reason were redacted already; this keeps any secret out even if one slipped in.
    return Alert(title, redact_text("\n".join(lines)), _NOTIFY_TYPES.get(status, apprise.NotifyType.INFO))


def _order_line(order: Order) -> str:
    line = (f"order {order.purpose.lower()} {order.leg.lower()}: {order.exchange} {order.side} {_num(order.amount)}"
            f" {order.status}, filled {_num(order.filled)}")
    if order.average_price is not None:
        line += f" at {_num(order.average_price)}"
    if order.error_message:
        line += f" ({order.error_message})"
    return line


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"
