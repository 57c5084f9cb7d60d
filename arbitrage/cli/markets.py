"""`arbitrage markets refresh | show`: the symbol_filters cache (trading rules and leverage tiers per symbol)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from arbitrage.cli.context import (
    RUNTIME_ERROR,
    CliError,
    load_cli_settings,
    open_database,
    open_existing_database,
    print_json,
    stdout_console,
)
from arbitrage.cli.presenters import format_time_left, row_to_dict
from arbitrage.cli.validation import parse_exchange, parse_symbol
from arbitrage.db import symbol_filters
from arbitrage.db.models import SymbolFilter
from arbitrage.domain.subscription_request import InputError
from arbitrage.services.market_refresh import RefreshSummary
from arbitrage.settings import Settings

markets_app = typer.Typer(help="Market metadata: trading rules and leverage tiers cached per symbol.",
                          no_args_is_help=True)


@markets_app.command("refresh")
def refresh(
    exchange: Annotated[str | None, typer.Option(help="Only this exchange (default: every configured one).")] = None,
) -> None:
    """Load every USDT-margined perpetual of the exchanges into symbol_filters (one transaction per exchange)."""
    settings = load_cli_settings()
    wanted = _exchanges(settings, exchange)
    summaries = asyncio.run(_refresh(settings, wanted))
    for summary in summaries:
        if summary.ok:
            typer.echo(summary.describe())
    failed = [summary.describe() for summary in summaries if not summary.ok]
    if failed:
        raise CliError(*failed, exit_code=RUNTIME_ERROR)


@markets_app.command("show")
def show(
    exchange: Annotated[str, typer.Argument(help="Exchange id, e.g. bybit.")],
    symbol: Annotated[str, typer.Argument(help="Unified symbol, e.g. BTC/USDT:USDT.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The cached row of one symbol: its rules, its age and its leverage tiers."""
    try:
        exchange_id = parse_exchange("EXCHANGE", exchange)
        unified = parse_symbol("SYMBOL", symbol)
    except InputError as error:
        raise CliError(str(error)) from None
    settings = load_cli_settings()
    row = asyncio.run(_cached(settings, exchange_id, unified))
    if row is None:
        raise CliError(
            f"{unified} on {exchange_id} is not cached; run `arbitrage markets refresh --exchange {exchange_id}`"
        )
    now = datetime.now(UTC)
    if json_output:
        print_json({**row_to_dict(row), "age_seconds": int((now - row.updated_at).total_seconds())})
        return
    console = stdout_console()
    console.print(_row_table(row, now))
    if row.leverage_tiers:
        console.print(_tiers_table(row.leverage_tiers))


def _exchanges(settings: Settings, exchange: str | None) -> list[str]:
    configured = settings.configured_exchanges
    if exchange is not None:
        try:
            exchange_id = parse_exchange("--exchange", exchange)
        except InputError as error:
            raise CliError(str(error)) from None
        if exchange_id not in configured:
            raise CliError(
                f"--exchange: {exchange_id} is not configured; set ARBITRAGE_EXCHANGES__{exchange_id.upper()}__API_KEY "
                "and __SECRET"
            )
        return [exchange_id]
    if not configured:
        raise CliError("no exchange is configured: set ARBITRAGE_EXCHANGES__<ID>__API_KEY and __SECRET "
                       "(see config/arbitrage.env.example)")
    return configured


async def _refresh(settings: Settings, exchanges: list[str]) -> list[RefreshSummary]:
    from arbitrage.exchanges.factory import build_connectors  # imports ccxt: only for this command
    from arbitrage.services.market_refresh import refresh_markets

    # A few requests per exchange (bybit's risk-limit pages are the most): ccxt's client-side throttle would only add
    # pauses, e.g. 5 s after MEXC's contract/detail (cost 100).
    connectors = build_connectors(settings)
    try:
        async with open_database(settings) as database:
            return await refresh_markets(database, connectors, exchanges)
    finally:
        await connectors.close()


async def _cached(settings: Settings, exchange: str, symbol: str) -> SymbolFilter | None:
    async with open_existing_database(settings) as database:
        if database is None:
            return None
        async with database.unit_of_work() as session:
            return await symbol_filters.get_symbol_filter(session, exchange, symbol)


def _row_table(row: SymbolFilter, now: datetime) -> Table:
    table = Table("field", "value", title=f"{row.symbol} on {row.exchange}")
    values: list[tuple[str, Any]] = [
        ("status", f"delisted since {row.delisted_at.isoformat()}" if row.delisted_at else "listed"),
        ("tick size", row.tick_size), ("step size (base)", row.step_size), ("min qty (base)", row.min_qty),
        ("min notional (USDT)", row.min_notional), ("contract size", row.contract_size),
        ("max leverage", row.max_leverage), ("funding interval (h)", row.funding_interval_hours),
        ("updated", f"{row.updated_at.isoformat()} ({_age(row.updated_at, now)} ago)"),
    ]
    for name, value in values:
        table.add_row(name, "-" if value is None else str(value))
    return table


def _tiers_table(tiers: list[dict[str, Any]]) -> Table:
    table = Table("notional from", "below", "max leverage", "maint. margin rate", title="leverage tiers")
    for tier in tiers:
        table.add_row(tier["floor"], tier.get("cap") or "unbounded", str(tier["max_leverage"]),
                      tier.get("maint_margin_rate") or "-")
    return table


def _age(then: datetime, now: datetime) -> str:
    shown = format_time_left(now, then)  # "time left" from then until now = the age
    return "0s" if shown == "-" else shown
