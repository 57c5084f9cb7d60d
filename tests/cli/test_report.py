"""`arbitrage report` on a scripted database: exact totals, the estimate error, --since, --by, --csv, 80 columns."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from arbitrage.cli.report import totals_table
from arbitrage.db import repository as repo
from arbitrage.db.migrate import upgrade_to_head
from arbitrage.db.models import CreatedBy
from arbitrage.db.session import Database
from arbitrage.domain import Side
from arbitrage.domain.results import GroupBy, Result, grand_total, totals
from arbitrage.domain.status import Status

BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
# primary, symbol, funding instant, status, funding, fees, price PnL, realized, estimate (None: a CLI row)
ROWS = [
    ("bybit", BTC, "2026-12-01T08:00:00+00:00", Status.COMPLETED, "0.9", "0.4", "-0.05", "0.45", "0.4"),
    ("bybit", ETH, "2026-12-01T16:00:00+00:00", Status.COMPLETED, "0.3", "0.2", "0.02", "0.12", "0.25"),
    ("mexc", BTC, "2026-12-02T00:00:00+00:00", Status.COMPLETED, "1.5", "0.5", "-0.1", "0.9", None),
    ("binanceusdm", SOL, "2026-12-02T08:00:00+00:00", Status.ERROR, None, None, None, None, "0.3"),
    ("bingx", BTC, "2026-11-30T08:00:00+00:00", Status.COMPLETED, "1", "0.5", "0.5", "1", "2"),
]


async def _seed(url: str) -> None:
    await upgrade_to_head(url)
    db = Database(url)
    try:
        async with db.unit_of_work() as session:
            for primary, symbol, at, status, funding, fees, price, realized, estimate in ROWS:
                row = await repo.create_subscription(
                    session, primary_exchange=primary, primary_symbol=symbol, hedge_exchange="bingx"
                    if primary != "bingx" else "mexc", hedge_symbol=symbol, side=Side.SHORT, amount=Decimal("0.01"),
                    funding_time=datetime.fromisoformat(at), lead_seconds=5,
                    created_by=CreatedBy.CLI if estimate is None else CreatedBy.AUTO,
                )
                row.status = status
                row.estimate_net = None if estimate is None else Decimal(estimate)
                for column, value in (("funding_received", funding), ("fees", fees), ("price_pnl", price),
                                      ("realized_pnl", realized)):
                    setattr(row, column, None if value is None else Decimal(value))
    finally:
        await db.dispose()


@pytest.fixture
def seeded(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{workdir / 'report.db'}"
    asyncio.run(_seed(url))
    monkeypatch.setenv("ARBITRAGE_DATABASE_URL", url)


def test_csv_by_exchange_since_a_day(run, seeded):
    result = run("report", "--since", "2026-12-01", "--by", "exchange", "--csv")
    assert (result.exit_code, result.stderr) == (0, "")
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        ["group", "subscriptions", "funding", "fees", "price_pnl", "realized_pnl", "estimated", "estimate_net",
         "estimate_error", "mean_abs_error"],
        ["bybit", "2", "1.2", "0.6", "-0.03", "0.57", "2", "0.65", "-0.08", "0.09"],
        ["mexc", "1", "1.5", "0.5", "-0.1", "0.9", "0", "", "", ""],
        ["total", "3", "2.7", "1.1", "-0.13", "1.47", "2", "0.65", "-0.08", "0.09"],
    ]


def test_csv_by_day_counts_every_completed_row_and_no_other(run, seeded):
    result = run("report", "--by", "day", "--csv")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    assert [row[:3] + row[5:9] for row in rows] == [
        ["2026-11-30", "1", "1", "1", "1", "2", "-1"],
        ["2026-12-01", "2", "1.2", "0.57", "2", "0.65", "-0.08"],
        ["2026-12-02", "1", "1.5", "0.9", "0", "", ""],  # the ERROR row of that day is not a result
        ["total", "4", "3.7", "2.47", "3", "2.65", "-1.08"],
    ]
    assert rows[-1][9] == "0.3933333333333333333333333333"  # (0.05 + 0.13 + 1) / 3, exact


def test_table_without_grouping_and_the_error_line(run, seeded):
    result = run("report", "--since", "2026-12-01T12:00:00+00:00")
    assert result.exit_code == 0
    lines = [line.rstrip() for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].split() == ["subs", "funding", "fees", "price", "realized", "expected", "error"]
    assert lines[2].split() == ["all", "2", "(1)", "1.80", "0.70", "-0.08", "1.02", "0.25", "-0.13"]
    assert lines[3] == ("estimate error (realized − expected) over 1 estimated subscription(s): -0.13 USDT, "
                        "mean |error| 0.13 USDT")


def test_table_by_symbol_fits_80_columns() -> None:
    results = [Result("binanceusdm", "1000PEPE/USDT:USDT", datetime(2026, 12, 1, tzinfo=UTC), Decimal("-1234.5678"),
                      Decimal("123.4567"), Decimal("-9999.1234"), Decimal("-11357.1479"), Decimal("-10000"))]
    rows = totals(results, GroupBy.SYMBOL)
    rows.append(grand_total(rows))
    console = Console(width=80, file=io.StringIO(), record=True)
    console.print(totals_table(rows, GroupBy.SYMBOL))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    cells = text.split()
    for figure in ("-1234.57", "123.46", "-9999.12", "-11357.15", "-10000.00", "-1357.15"):
        assert cells.count(figure) == 2, figure  # the symbol's row and the total, never cut
    lines = text.splitlines()
    assert (lines[2].split()[0], lines[3].strip()) == ("1000PEPE/USDT", ":USDT")  # the name folds instead


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "yesterday"),
     "error: --since: 'yesterday' is not a day like 2026-12-01 or an ISO-8601 time with offset"),
    (("--since", "2026-12-01T08:00:00"), "error: --since: '2026-12-01T08:00:00' has no UTC offset; add one, e.g. "
                                         "2026-12-01T08:00:00Z or +00:00"),
])
def test_bad_since_is_one_line_and_exit_2(run, args, message):
    result = run("report", *args)
    assert (result.exit_code, result.stdout, result.stderr.strip()) == (2, "", message)


def test_unknown_grouping_is_a_usage_error(run):
    result = run("report", "--by", "week")
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    assert "Value error" not in result.stderr and "'week' is not one of" in result.stderr


def test_no_database_reports_nothing_and_creates_nothing(run, workdir):
    result = run("report")
    assert (result.exit_code, result.stdout) == (0, "no completed subscriptions\n")
    assert not (workdir / "arbitrage.db").exists()
    assert run("report", "--csv").stdout == ",".join(
        ["group", "subscriptions", "funding", "fees", "price_pnl", "realized_pnl", "estimated", "estimate_net",
         "estimate_error", "mean_abs_error"]) + "\n"
