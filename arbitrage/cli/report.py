"""`arbitrage report`: completed subscriptions' realized PnL, and how far it was from the estimate."""

from __future__ import annotations

import asyncio
import csv
import sys
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from arbitrage.cli.context import CliError, load_cli_settings, open_existing_database, stdout_console
from arbitrage.db.results import completed_results
from arbitrage.domain.results import GroupBy, Result, Totals, grand_total, totals
from arbitrage.settings import Settings

_CENT = Decimal("0.01")  # the table shows cents; --csv has the exact figures
_HEADERS = {None: "", GroupBy.EXCHANGE: "primary", GroupBy.SYMBOL: "symbol", GroupBy.DAY: "day (UTC)"}
CSV_COLUMNS = ("group", "subscriptions", "funding", "fees", "price_pnl", "realized_pnl", "estimated",
               "estimate_net", "estimate_error", "mean_abs_error")


def report(
    since: Annotated[
        str | None,
        typer.Option(help="Only funding instants from this day or time on: 2026-12-01 (UTC) or ISO-8601 with offset."),
    ] = None,
    by: Annotated[GroupBy | None, typer.Option(help="One row per primary exchange, symbol or day.")] = None,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV (exact figures) instead of a table.")] = False,
) -> None:
    """Totals of completed subscriptions (USDT): funding, fees, price PnL, realized PnL, and the realized PnL
    minus the estimate for those created with one (auto-subscribe)."""
    start = parse_since(since) if since is not None else None
    settings = load_cli_settings()
    results = asyncio.run(_results(settings, start))
    rows = totals(results, by)
    if by is not None and rows:
        rows.append(grand_total(rows))
    if csv_output:
        write_csv(rows)
        return
    if not rows:
        typer.echo("no completed subscriptions" + (f" since {start.isoformat()}" if start else ""))
        return
    console = stdout_console()
    console.print(totals_table(rows, by))
    total = rows[-1]
    if total.estimated:
        console.print(f"estimate error (realized − expected) over {total.estimated} estimated subscription(s): "
                      f"{_money(total.error)} USDT, mean |error| {_money(total.mean_absolute_error)} USDT",
                      markup=False, highlight=False)


def parse_since(value: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--since: {value!r} is not a day like 2026-12-01 or an ISO-8601 time with offset") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise CliError(f"--since: {value!r} has no UTC offset; add one, e.g. {text}Z or +00:00")
    return parsed.astimezone(UTC)


async def _results(settings: Settings, since: datetime | None) -> list[Result]:
    async with open_existing_database(settings) as database:
        if database is None:
            return []
        async with database.unit_of_work() as session:
            return await completed_results(session, since)


def totals_table(rows: list[Totals], by: GroupBy | None) -> Table:
    """Fits 80 columns (a long group name folds; figures are never cut). `subs`: completed (of which estimated)."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False)
    table.add_column(_HEADERS[by], overflow="fold")
    for header in ("subs", "funding", "fees", "price", "realized", "expected", "error"):
        table.add_column(header, justify="right", no_wrap=True)
    for index, row in enumerate(rows):
        table.add_row(
            row.group if by is not None else "all", f"{row.subscriptions} ({row.estimated})", _money(row.funding),
            _money(row.fees), _money(row.price_pnl), _money(row.realized),
            _money(row.estimate_net) if row.estimated else "-", _money(row.error) if row.estimated else "-",
            end_section=index == len(rows) - 2 and rows[-1].group == "total",  # a rule above the total
        )
    return table


def write_csv(rows: list[Totals]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        mean = row.mean_absolute_error
        writer.writerow([
            row.group, row.subscriptions, _exact(row.funding), _exact(row.fees), _exact(row.price_pnl),
            _exact(row.realized), row.estimated, _exact(row.estimate_net) if row.estimated else "",
            _exact(row.error) if row.estimated else "", "" if mean is None else _exact(mean),
        ])


def _money(value: Decimal | None) -> str:
    return "-" if value is None else format(value.quantize(_CENT, rounding=ROUND_HALF_EVEN), "f")


def _exact(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
