"""Alerts: the journal's status changes reach a real HTTP receiver through Apprise, off the trading path."""

from __future__ import annotations

import asyncio
import io
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alert_receiver import TOKEN, AlertReceiver, alert_receiver

from arbitrage.db import repository as repo
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain import Leg, OrderPurpose, OrderSide, Side
from arbitrage.domain.status import Status
from arbitrage.logging import clear_registered_secrets, configure_logging, register_secrets, reset_logging
from arbitrage.ops.alerts import AlertWorker, format_alert
from arbitrage.services.journal import StatusChange, SubscriptionJournal
from arbitrage.services.order_execution import OrderIntent
from arbitrage.settings import SettingsError, load_settings

BTC = "BTC/USDT:USDT"
FAST = {"retry_delays": (0.05, 0.05, 0.05), "attempt_timeout": 2.0, "drain_seconds": 0.5}


@pytest.fixture
def database_path(tmp_path: Path, _sqlite_template: Path) -> Path:
    path = tmp_path / "alerts.db"
    shutil.copyfile(_sqlite_template, path)
    return path


@pytest.fixture
async def journal(database_path: Path) -> AsyncIterator[SubscriptionJournal]:
    db = Database(f"sqlite:///{database_path}")
    yield SubscriptionJournal(db)
    await db.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[AlertReceiver]:
    async with alert_receiver() as running:
        yield running


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream)
    yield stream
    reset_logging()
    clear_registered_secrets()


async def worker_for(journal: SubscriptionJournal, url: str, statuses: str = "ERROR,SKIPPED",
                     **options: Any) -> AlertWorker:
    settings = load_settings(None, alert_urls=url, alert_statuses=statuses)
    worker = AlertWorker.from_settings(settings, orders_of=journal.orders, **{**FAST, **options})
    journal.observers.append(worker.submit)
    worker.start()
    return worker


async def new_subscription(journal: SubscriptionJournal) -> Subscription:
    async with journal.db.unit_of_work() as session:
        subscription = await repo.create_subscription(
            session, primary_exchange="bybit", primary_symbol=BTC, hedge_exchange="binanceusdm", hedge_symbol=BTC,
            side=Side.SHORT, amount=Decimal("0.010"), funding_time=datetime.now(UTC) + timedelta(minutes=5),
            lead_seconds=5, leverage=3,
        )
    return subscription


async def to_needs_attention(journal: SubscriptionJournal, subscription: Subscription) -> None:
    await journal.transition(subscription, Status.SYNCING_LEVERAGE, "trigger approaching", event="syncing")
    intents = [
        OrderIntent(Leg.PRIMARY, OrderPurpose.OPEN, "bybit", BTC, OrderSide.SELL, Decimal("0.01"), "c-1"),
        OrderIntent(Leg.HEDGE, OrderPurpose.OPEN, "binanceusdm", BTC, OrderSide.BUY, Decimal("0.01"), "c-2"),
    ]
    await journal.record_opening(subscription, intents, "orders recorded", {})
    await journal.transition(subscription, Status.NEEDS_ATTENTION, "unwind failed: bybit: exchange unavailable",
                             event="unwind_failed")


async def test_needs_attention_alert_arrives_with_subscription_legs_amounts_and_reason(journal, receiver):
    worker = await worker_for(journal, receiver.url())
    subscription = await new_subscription(journal)
    await to_needs_attention(journal, subscription)
    [alert] = await receiver.wait_for(1)
    await worker.close()

    assert alert["title"] == f"arbitrage: subscription {subscription.id} NEEDS_ATTENTION"
    assert alert["type"] == "failure"
    body = alert["message"]
    for expected in (
        f"subscription {subscription.id}: OPENING -> NEEDS_ATTENTION",
        f"primary: bybit {BTC} short 0.01",
        f"hedge: binanceusdm {BTC} long 0.01",
        "reason: unwind failed: bybit: exchange unavailable",
        "exposure may remain",
        "order open primary: bybit sell 0.01 PENDING, filled 0",
        "order open hedge: binanceusdm buy 0.01 PENDING, filled 0",
    ):
        assert expected in body, body
    assert len(receiver.received) == 1, "SYNCING_LEVERAGE and OPENING do not alert"


async def test_a_status_configured_off_sends_nothing(journal, receiver):
    worker = await worker_for(journal, receiver.url(), statuses="")  # NEEDS_ATTENTION only
    skipped = await new_subscription(journal)
    await journal.transition(skipped, Status.SKIPPED, "funding rate against our side", event="skipped")
    failed = await new_subscription(journal)
    await journal.transition(failed, Status.ERROR, "symbol delisted", event="invalid")
    attention = await new_subscription(journal)
    await to_needs_attention(journal, attention)
    [alert] = await receiver.wait_for(1)
    await worker.close()
    assert alert["title"].endswith(f"subscription {attention.id} NEEDS_ATTENTION")
    assert receiver.attempts == 1


async def test_a_hanging_receiver_never_delays_the_journal(journal, receiver, log_output):
    receiver.hang = True
    worker = await worker_for(journal, receiver.url(), attempt_timeout=0.3, retry_delays=(0.05,), queue_size=2)
    subscriptions = [await new_subscription(journal) for _ in range(5)]
    await journal.transition(subscriptions[0], Status.ERROR, "leverage sync failed", event="leverage_failed")
    while receiver.attempts == 0:  # the first alert is on the wire, and its target does not answer
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    for subscription in subscriptions[1:]:
        await journal.transition(subscription, Status.ERROR, "leverage sync failed", event="leverage_failed")
    journal_seconds = time.perf_counter() - started
    # Four status writes while the target hangs take what they take without any observer (SQLite, a few ms each).
    assert journal_seconds < 0.25, journal_seconds
    assert receiver.attempts == 1 and receiver.received == []
    assert await journal.status_of(subscriptions[-1].id) is Status.ERROR
    async def first_alert_given_up() -> None:  # two attempts of 0.3 s each and the pause between them
        while worker.failed == 0:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(first_alert_given_up(), timeout=5)
    assert worker.sent == 0
    await worker.close()
    logged = log_output.getvalue()
    assert '"event": "alert_not_delivered"' in logged
    assert '"event": "alert_dropped"' in logged, "a full queue drops instead of growing or blocking"


async def test_a_failing_target_is_retried_until_it_accepts(journal, receiver, log_output):
    receiver.fail_next = 2
    worker = await worker_for(journal, receiver.url())
    subscription = await new_subscription(journal)
    await journal.transition(subscription, Status.ERROR, "leverage sync failed", event="leverage_failed")
    [alert] = await receiver.wait_for(1)
    await worker.close()
    assert receiver.attempts == 3 and worker.sent == 1
    assert alert["title"].endswith("ERROR")
    assert log_output.getvalue().count('"event": "alert_retry"') == 2


async def test_url_tokens_never_appear_in_logs(journal, receiver, log_output):
    url = receiver.url()
    settings = load_settings(None, alert_urls=url)
    register_secrets(settings.secret_values())  # what every command does at start (cli/context.py)
    receiver.fail_next = 1
    worker = await worker_for(journal, url)
    subscription = await new_subscription(journal)
    await journal.transition(subscription, Status.ERROR, "leverage sync failed", event="leverage_failed")
    await receiver.wait_for(1)
    await worker.close()
    logged = log_output.getvalue()
    assert "JSON POST URL" in logged, "Apprise logged the URL it posts to (at DEBUG), redacted"
    assert '"event": "alert_retry"' in logged and '"event": "alert_sent"' in logged
    assert TOKEN not in logged and url not in logged
    assert "alert target 1 (json)" in logged


async def test_a_crash_inside_a_step_alerts_too(journal, receiver):
    worker = await worker_for(journal, receiver.url())
    subscription = await new_subscription(journal)
    await journal.transition(subscription, Status.SYNCING_LEVERAGE, "trigger approaching", event="syncing")
    await journal.record_opening(subscription, [], "orders recorded", {})
    await journal.fail_loudly(subscription.id, "internal error: boom")  # the pipeline's last line of defence
    [alert] = await receiver.wait_for(1)
    await worker.close()
    assert alert["title"].endswith("NEEDS_ATTENTION") and "reason: internal error: boom" in alert["message"]


async def test_a_failing_observer_never_stops_the_transition(journal, log_output):
    def broken(change: StatusChange) -> None:
        raise RuntimeError("observer bug")

    journal.observers.append(broken)
    subscription = await new_subscription(journal)
    await journal.transition(subscription, Status.ERROR, "symbol delisted", event="invalid")
    assert await journal.status_of(subscription.id) is Status.ERROR and subscription.status is Status.ERROR
    assert '"event": "status_observer_failed"' in log_output.getvalue()


def test_the_message_carries_the_result_figures_when_known():
    at = datetime(2026, 12, 2, 8, 0, 5, tzinfo=UTC)
    change = StatusChange(
        subscription_id=7, from_status=Status.CLOSING, to_status=Status.COMPLETED, reason="both legs closed",
        primary_exchange="bingx", primary_symbol=BTC, hedge_exchange="bybit", hedge_symbol=BTC, side=Side.LONG,
        amount=Decimal("0.5"), applied_leverage=5, funding_time=at - timedelta(seconds=5),
        error_message="the primary opened late: no funding", funding_received=Decimal("1.2500"),
        fees=Decimal("0.40"), realized_pnl=Decimal("-0.15"), at=at,
    )
    alert = format_alert(change)
    assert alert.notify_type == "success"
    assert f"primary: bingx {BTC} long 0.5" in alert.body and f"hedge: bybit {BTC} short 0.5" in alert.body
    assert "leverage 5" in alert.body
    assert "note: the primary opened late: no funding" in alert.body
    assert "funding received 1.25 USDT, fees 0.4 USDT, realized PnL -0.15 USDT" in alert.body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {Status.ERROR, Status.SKIPPED}),  # the default
        ("", set()),
        ("completed, ERROR", {Status.ERROR, Status.COMPLETED}),
        ("NEEDS_ATTENTION", set()),  # always alerts; naming it changes nothing
    ],
)
def test_alert_statuses_setting(value, expected, monkeypatch):
    monkeypatch.delenv("ARBITRAGE_ALERT_STATUSES", raising=False)
    if value is not None:
        monkeypatch.setenv("ARBITRAGE_ALERT_STATUSES", value)
    assert load_settings(None).alert_statuses == expected


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("ARBITRAGE_ALERT_STATUSES", "ERROR,OPEN", "invalid setting ARBITRAGE_ALERT_STATUSES: unknown status 'OPEN'"),
        ("ARBITRAGE_ALERT_URLS", f"json://127.0.0.1/{TOKEN},nope-{TOKEN}",
         "invalid setting ARBITRAGE_ALERT_URLS: entry 2 is not an Apprise URL"),
        ("ARBITRAGE_ALERT_URLS", f"unknownscheme://{TOKEN}", "invalid setting ARBITRAGE_ALERT_URLS: entry 1 is not"),
    ],
)
def test_bad_alert_settings_are_one_line_without_the_value(variable, value, line, monkeypatch):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(None)
    [message] = raised.value.lines
    assert message.startswith(line) and TOKEN not in message


def test_every_piece_of_an_alert_url_is_a_secret():
    urls = f"json://127.0.0.1:9/hooks/{TOKEN}, tgram://123456789:AAH-bot-tok/42424242"
    settings = load_settings(None, alert_urls=urls)
    secrets = settings.secret_values()
    assert {TOKEN, "123456789:AAH-bot-tok", "AAH-bot-tok", "42424242"} <= set(secrets)
    assert "127.0.0.1:9" not in secrets
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
