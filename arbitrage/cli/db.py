"""`arbitrage db upgrade | current`: the database schema."""

from __future__ import annotations

import asyncio

import typer

from arbitrage.cli.context import check_database_location, load_cli_settings, opening_database, sqlite_path
from arbitrage.db.migrate import current_revision, head_revision, upgrade_to_head

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (other commands do this by themselves)."""
    settings = load_cli_settings()
    check_database_location(settings, create=True)
    asyncio.run(opening_database(settings, upgrade_to_head(settings.database_url)))
    typer.echo(f"database at revision {asyncio.run(current_revision(settings.database_url))} (head)")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    settings = load_cli_settings()
    if not check_database_location(settings, create=False):
        typer.echo(f"none (no database file at {sqlite_path(settings.database_url)}; `arbitrage db upgrade` or "
                   "`arbitrage subscribe` creates it)")
        return
    current = asyncio.run(opening_database(settings, current_revision(settings.database_url)))
    head = head_revision()
    if current is None:
        typer.echo("none (empty database; run `arbitrage db upgrade`)")
    elif current == head:
        typer.echo(f"{current} (head)")
    else:
        typer.echo(f"{current} (head is {head}; run `arbitrage db upgrade`)")
