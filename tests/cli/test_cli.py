"""The real `arbitrage` command, in-process, against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from arbitrage.db import repository as repo
from arbitrage.db.migrate import current_revision
from arbitrage.db.models import Subscription
from arbitrage.db.session import Database
from arbitrage.domain.funding import next_funding_time
from arbitrage.domain.status import Status
from arbitrage.cli.presenters import format_time_left
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.settings import load_settings

Run = Callable[..., Any]  # the `run` fixture of tests/cli/conftest.py
FUNDING = next_funding_time(datetime.now(UTC), 8)  # the simulator's schedule: 00/08/16 UTC
SUBSCRIBE = [
    "subscribe",
    "--symbol",
    "BTC/USDT:USDT",
    "--primary",
    "bingx",
    "--hedge",
    "bybit",
    "--side",
    "short",
    "--amount",
    "0.01",
    "--funding-time",
    FUNDING.isoformat(),
]


def _option(args: list[str], name: str, value: str | None) -> list[str]:
    """SUBSCRIBE with option `name` replaced (or removed when value is None)."""
    result = list(args)
    index = result.index(name)
    del result[index : index + 2]
    return result + ([name, value] if value is not None else [])


@pytest.fixture
def db_url(workdir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", database_url)
    return database_url


async def _count(url: str) -> int:
    async with Database(url) as database, database.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(Subscription)) or 0)


def test_subscribe_list_show_cancel(run: Run, db_url: str, sim: object) -> None:
    created = run(*SUBSCRIBE, "--leverage", "5", "--json")
    assert created.exit_code == 0, created.stderr
    row = json.loads(created.stdout)
    assert row["status"] == "SCHEDULED"
    assert (row["created_by"], row["estimate_net"]) == ("cli", None)  # auto-subscribe's rows say "auto"
    assert (row["amount"], row["leverage"], row["lead_seconds"], row["side"]) == ("0.01", "5", 30, "SHORT")
    assert row["entry_deadline"] == (FUNDING - timedelta(seconds=30)).isoformat()  # bingx's minimum lead
    assert row["trigger_at"] == PipelineConfig.from_settings(load_settings()).trigger_time(
        Subscription(funding_time=FUNDING, lead_seconds=30, primary_exchange="bingx", hedge_exchange="bybit")
    ).isoformat()
    assert datetime.fromisoformat(row["trigger_at"]) < datetime.fromisoformat(row["entry_deadline"])
    assert datetime.fromisoformat(row["funding_time"]) == FUNDING

    second = run(*_option(SUBSCRIBE, "--side", "LONG"), "--force")  # a long pays bingx's positive rate
    assert second.exit_code == 0 and second.stdout.strip() == str(row["id"] + 1)
    assert "warning: long pays funding on bingx at the current rate 0.015%" in second.stderr

    listed = run("list")
    assert listed.exit_code == 0
    first = next(line for line in listed.stdout.splitlines() if line.split()[:1] == [str(row["id"])])
    assert first.split()[:7] == [str(row["id"]), "bingx→bybit", "BTC", "short", "0.01", "5x",
                                 FUNDING.strftime("%m-%d")]
    assert max(len(line) for line in listed.stdout.splitlines()) <= 80
    assert first.split()[-1] == "SCHEDULED"
    assert format_time_left(FUNDING, datetime.now(UTC)).split()[0] in first

    as_json = json.loads(run("list", "--json").stdout)
    assert [item["side"] for item in as_json] == ["SHORT", "LONG"]

    cancelled = run("cancel", str(row["id"]))
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    assert [item["id"] for item in json.loads(run("list", "--status", "cancelled", "--json").stdout)] == [row["id"]]

    shown = json.loads(run("show", str(row["id"]), "--json").stdout)
    assert shown["subscription"]["status"] == "CANCELLED"
    assert shown["subscription"]["trigger_at"] == row["trigger_at"]
    assert [(e["event"], e["to_status"]) for e in shown["events"]] == [
        ("created", "SCHEDULED"),
        ("cancelled", "CANCELLED"),
    ]
    assert shown["orders"] == [] and shown["funding_payments"] == []
    human = run("show", str(row["id"]))
    assert human.exit_code == 0 and "CANCELLED" in human.stdout and "cancelled by user" in human.stdout

    again = run("cancel", str(row["id"]))
    assert again.exit_code == 2
    assert again.stderr.strip().splitlines()[-1] == (
        f"error: subscription {row['id']} is CANCELLED; only SCHEDULED subscriptions can be cancelled"
    )


async def _start(url: str, subscription_id: int) -> None:
    async with Database(url) as database, database.unit_of_work() as session:
        subscription = await repo.require_subscription(session, subscription_id)
        await repo.transition(session, subscription, Status.SYNCING_LEVERAGE)


def test_cancel_names_the_current_status(run: Run, db_url: str, sim: object) -> None:
    assert run(*SUBSCRIBE).exit_code == 0
    asyncio.run(_start(db_url, 1))
    result = run("cancel", "1")
    assert result.exit_code == 2
    assert "subscription 1 is SYNCING_LEVERAGE; only SCHEDULED subscriptions can be cancelled" in result.stderr


@pytest.mark.parametrize("command", [["show", "99"], ["cancel", "99"]])
def test_unknown_id_is_a_usage_error(run: Run, workdir: Path, command: list[str]) -> None:
    result = run(*command)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == "error: subscription 99 not found"


def test_list_rejects_unknown_status(run: Run, workdir: Path) -> None:
    result = run("list", "--status", "done")
    assert result.exit_code == 2
    assert "error: --status: unknown status 'done'" in result.stderr
    assert not (workdir / "arbitrage.db").exists()


@pytest.mark.parametrize(
    ("command", "exit_code", "output"),
    [
        (["list"], 0, "no subscriptions"),
        (["list", "--json"], 0, "[]"),
        (["show", "999"], 2, "error: subscription 999 not found"),
        (["cancel", "999"], 2, "error: subscription 999 not found"),
        (["markets", "show", "bybit", "BTC/USDT:USDT"], 2, "error: BTC/USDT:USDT on bybit is not cached"),
    ],
)
def test_reading_a_missing_database_creates_nothing(
    run: Run, workdir: Path, command: list[str], exit_code: int, output: str
) -> None:
    result = run(*command)
    assert result.exit_code == exit_code
    assert (result.stdout + result.stderr).strip().startswith(output)
    assert list(workdir.iterdir()) == []


def test_reading_an_empty_database_creates_no_tables(run: Run, db_url: str) -> None:
    assert run("list").stdout.strip() == "no subscriptions"
    assert run("show", "1").exit_code == 2
    assert asyncio.run(current_revision(db_url)) is None
    assert run("db", "upgrade").exit_code == 0
    assert run("list").stdout.strip() == "no subscriptions"


def test_db_commands(run: Run, workdir: Path) -> None:
    assert run("db", "current").stdout.startswith("none (no database file")
    assert not (workdir / "arbitrage.db").exists()
    upgraded = run("db", "upgrade")
    assert (upgraded.exit_code, upgraded.stdout.strip()) == (0, "database at revision 0003 (head)")
    assert run("db", "current").stdout.strip() == "0003 (head)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("--primary", "kraken"),
            "error: --primary: unknown exchange 'kraken' (choose from binanceusdm, bybit, bingx, mexc)",
        ),
        (("--hedge", "bingx"), "error: --hedge: must differ from --primary (both are bingx)"),
        (("--side", "sideways"), "error: --side: must be long or short, not 'sideways'"),
        (("--amount", "-0.01"), "error: --amount: must be greater than 0, not '-0.01'"),
        (("--funding-time", "2030-01-01T08:00:00"), "error: --funding-time: '2030-01-01T08:00:00' has no UTC offset"),
        (
            ("--funding-time", "2020-01-01T08:00:00Z"),
            "error: --funding-time: 2020-01-01T08:00:00+00:00 is not in the future",
        ),
        (("--symbol", "BTCUSDT"), "error: --symbol: 'BTCUSDT' is not a unified perpetual symbol"),
        (("--leverage", "500"), "error: --leverage: must be a whole number from 1 to 125 or 'max', not '500'"),
        (("--lead-seconds", "10"), "error: --lead-seconds: bingx needs at least 30 s before funding"),
    ],
)
def test_bad_subscribe_input_writes_nothing(
    run: Run, workdir: Path, sim: object, change: tuple[str, str | None], message: str
) -> None:
    args = _option(SUBSCRIBE, change[0], change[1]) if change[0] in SUBSCRIBE else SUBSCRIBE + list(change)
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert not (workdir / "arbitrage.db").exists()  # validated before the database was touched

    assert run(*SUBSCRIBE).exit_code == 0  # an existing database keeps its row count too
    run(*args)
    assert asyncio.run(_count("sqlite:///arbitrage.db")) == 1


def test_bad_setting_is_one_line_exit_2_and_touches_nothing(
    run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARBITRAGE_LEAD_SECONDS", "soon")
    for command in (SUBSCRIBE, ["list"], ["db", "upgrade"]):
        result = run(*command)
        assert result.exit_code == 2
        assert result.stderr.strip() == (
            "error: invalid setting ARBITRAGE_LEAD_SECONDS: Input should be a valid integer, unable to parse "
            "string as an integer"
        )
    assert not (workdir / "arbitrage.db").exists()


def test_secret_in_bad_setting_is_never_echoed(run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__KRAKEN__SECRET", "kraken-secret-value")
    monkeypatch.setenv("ARBITRAGE_EXCHANGES__BYBIT__SANDBOX", "bybit-secret-value")
    result = run("list")
    assert result.exit_code == 2
    assert "kraken-secret-value" not in result.stderr and "bybit-secret-value" not in result.stderr
    assert "invalid setting ARBITRAGE_EXCHANGES" in result.stderr


def test_env_file_option_and_variable(run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = workdir / "custom.env"
    env_file.write_text(f"ARBITRAGE_DATABASE_URL=sqlite:///{workdir / 'custom.db'}\n")
    assert run("--env-file", str(env_file), "db", "upgrade").exit_code == 0
    assert (workdir / "custom.db").exists() and not (workdir / "arbitrage.db").exists()

    (workdir / "custom.db").unlink()
    monkeypatch.setenv("ARBITRAGE_ENV_FILE", str(env_file))
    assert run("db", "upgrade").exit_code == 0
    assert (workdir / "custom.db").exists()

    missing = run("--env-file", str(workdir / "nope.env"), "list")
    assert missing.exit_code == 2 and "nope.env" in missing.stderr


def test_dotenv_in_working_directory_is_read(run: Run, workdir: Path) -> None:
    (workdir / ".env").write_text("ARBITRAGE_DATABASE_URL=sqlite:///from-dotenv.db\n")
    assert run("db", "upgrade").exit_code == 0
    assert (workdir / "from-dotenv.db").exists()


def test_usage_errors_exit_2(run: Run, workdir: Path) -> None:
    assert run("subscribe", "--no-such-option").exit_code == 2
    assert run("show", "not-a-number").exit_code == 2
    assert run("no-such-command").exit_code == 2
    assert run("--help").exit_code == 0


def test_runtime_failure_is_one_line_exit_1(run: Run, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = run("list")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr

    debug = run("--debug", "list")
    assert debug.exit_code == 1 and "Traceback" in debug.stderr
