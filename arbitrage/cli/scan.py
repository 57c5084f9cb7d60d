"""`arbitrage scan`: the best funding captures across the configured exchanges right now, each ready to subscribe."""

from __future__ import annotations

import asyncio
import textwrap
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from arbitrage.cli.context import RUNTIME_ERROR, CliError, load_cli_settings, print_json
from arbitrage.cli.validation import parse_exchange
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.subscription_request import InputError
from arbitrage.settings import Settings

MAX_NOTIONAL = Decimal(10) ** 9
WIDTH = 80
HEADER = f"{'#':>2} {'coin':<8} {'primary→hedge':<17} {'side':<5} {'funds in':<10} {'net USDT':>8} {'bps':>6} " \
         f"{'USDT/24h':>8} {'APR':>8}"


def scan(
    notional_usdt: Annotated[str, typer.Option(help="Notional of one subscription in USDT.")] = "1000",
    top: Annotated[int, typer.Option(help="Show the best N rows.", min=1, max=10_000)] = 20,
    min_net_bps: Annotated[
        str | None, typer.Option(help="Only rows whose expected net is at least this many bps of the notional.")
    ] = None,
    exchanges: Annotated[
        str | None, typer.Option(help="Comma-separated exchanges to scan (default: every configured one).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON (Decimals as strings, ISO-8601 times).")]
    = False,
) -> None:
    """Rank every symbol listed on two or more exchanges, every pair and side, by the expected net of one
    subscription at its next funding: funding, minus four taker fees, minus the spread crossing the order books."""
    notional = _decimal("--notional-usdt", notional_usdt, positive=True)
    minimum = _decimal("--min-net-bps", min_net_bps) if min_net_bps is not None else None
    settings = load_cli_settings()
    wanted = _exchanges(settings, exchanges)
    problems: list[str] = []
    now = datetime.now(UTC)
    rows = asyncio.run(_scan(settings, wanted, notional, now, problems))
    shown = [row for row in rows if minimum is None or row.net_bps >= minimum][:top]
    for problem in problems:
        typer.echo(f"warning: {problem}", err=True)
    if json_output:
        print_json([opportunity_to_dict(row) for row in shown])
        return
    typer.echo(render(shown, len(rows), notional, now, settings.scan_book_levels))


async def _scan(settings: Settings, exchanges: list[str], notional: Decimal, now: datetime,
                problems: list[str]) -> list[Opportunity]:
    from arbitrage.cli.context import open_existing_database
    from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
    from arbitrage.exchanges.factory import build_connector  # imports ccxt: only for this command
    from arbitrage.services.scan_catalog import ScanCatalog
    from arbitrage.services.scanner import scan_opportunities

    connectors = ConnectorRegistry({exchange: build_connector(settings, exchange) for exchange in exchanges})
    try:
        async with open_existing_database(settings) as database:  # cached rules and intervals; none is created
            catalog = ScanCatalog(database, connectors)
            try:
                return await scan_opportunities(connectors, catalog, settings, notional_usdt=notional,
                                                exchanges=exchanges, now=now, problems=problems)
            except ExchangeError as error:
                raise CliError(error.user_message, exit_code=RUNTIME_ERROR) from None
    finally:
        await connectors.close()


def _decimal(option: str, text: str, *, positive: bool = False) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CliError(f"{option}: {text!r} is not a number") from None
    if not value.is_finite() or abs(value) > MAX_NOTIONAL:
        raise CliError(f"{option}: {text!r} is out of range")
    if positive and value <= 0:
        raise CliError(f"{option}: must be positive, got {text}")
    return value


def _exchanges(settings: Settings, text: str | None) -> list[str]:
    configured = settings.configured_exchanges
    if text is None:
        wanted = configured
    else:
        try:
            wanted = list(dict.fromkeys(parse_exchange("--exchanges", part) for part in text.split(",") if part.strip()))
        except InputError as error:
            raise CliError(str(error)) from None
        missing = [exchange for exchange in wanted if exchange not in configured]
        if missing:
            raise CliError(f"--exchanges: {', '.join(missing)} not configured; set "
                           f"ARBITRAGE_EXCHANGES__{missing[0].upper()}__API_KEY and __SECRET (or __BASE_URL)")
    if len(wanted) < 2:
        raise CliError(f"--exchanges: a scan needs two exchanges or more (configured: {', '.join(configured) or 'none'})")
    return wanted


# ---- presentation ----------------------------------------------------------------------------------------------

def subscribe_command(row: Opportunity) -> str:
    amount = f"{row.amount.normalize():f}" if row.amount is not None else "?"
    return (f"arbitrage subscribe --primary {row.primary} --hedge {row.hedge} --side {str(row.side).lower()} "
            f"--symbol {row.symbol} --amount {amount} --funding-time {_iso(row.funding_time)}")


def opportunity_to_dict(row: Opportunity) -> dict[str, Any]:
    """Every field and figure; Decimals without trailing zeros (0.874, not 0.87400000)."""
    values: dict[str, Any] = {
        **asdict(row),
        "side": str(row.side).lower(),
        "net_usdt": row.net_usdt,
        "net_bps": row.net_bps,
        "net_per_day_usdt": row.net_per_day_usdt,
        "apr": row.apr,
        "subscribe": None if row.blocked_reason else subscribe_command(row),
    }
    return {key: _plain(value) if isinstance(value, Decimal) else value for key, value in values.items()}


def _plain(value: Decimal) -> Decimal:
    return value.normalize() if value else Decimal(0)


def render(rows: list[Opportunity], total: int, notional: Decimal, now: datetime, levels: int) -> str:
    lines = textwrap.wrap(
        f"{total} candidates at {_iso(now.replace(microsecond=0))}, {notional.normalize():f} USDT each, net of 4 "
        f"taker fees and the spread through {levels} book levels; best {len(rows)}:", WIDTH)
    lines.append(HEADER)
    for rank, row in enumerate(rows, 1):
        net = f"{row.net_usdt:+.3f}" + ("" if row.spread_known else "*")
        lines.append(
            f"{rank:>2} {row.symbol.split('/')[0][:8]:<8} {(row.primary + '→' + row.hedge)[:17]:<17} "
            f"{str(row.side).lower():<5} {_funds_in(row, now):<10} {net:>8} {row.net_bps:>+6.1f} "
            f"{row.net_per_day_usdt:>+8.2f} {row.apr * 100:>+7.1f}%"
        )
        if row.blocked_reason:
            lines.extend(textwrap.wrap(f"blocked: {row.blocked_reason}", WIDTH, initial_indent="   ",
                                       subsequent_indent="     "))
        else:
            lines.extend(_command_lines(row))
    if any(not row.spread_known for row in rows):
        lines.append("* spread not estimated (no book read for it: ARBITRAGE_SCAN_MAX_ORDER_BOOKS): the net is "
                     "before the spread")
    return "\n".join(lines)


def _command_lines(row: Opportunity) -> list[str]:
    """The subscribe command on two shell lines (a backslash continues it), each within 80 columns."""
    amount = f"{row.amount.normalize():f}" if row.amount is not None else "?"
    first = (f"   arbitrage subscribe --primary {row.primary} --hedge {row.hedge} "
             f"--side {str(row.side).lower()} \\")
    second = f"     --symbol {row.symbol} --amount {amount} --funding-time {_iso(row.funding_time)}"
    return [first, second]


def _funds_in(row: Opportunity, now: datetime) -> str:
    """Time to the instant and the primary's interval: `21m /1h`, `7h21m /8h`."""
    minutes = max(0, int((row.funding_time - now).total_seconds()) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    left = f"{days}d{hours:02d}h" if days else f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"
    return f"{left} /{row.primary_interval_hours}h"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
