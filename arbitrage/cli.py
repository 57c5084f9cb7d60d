"""The `arbitrage` command.

Exit codes: 0 ok, 1 runtime failure, 2 usage or validation error (bad option, bad setting, unknown id).
Errors are one line on stderr, never a traceback unless `--debug` (or ARBITRAGE_LOG_LEVEL=DEBUG).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from arbitrage import cli_subscriptions
from arbitrage.cli_markets import markets_app
from arbitrage.cli_context import (
    RUNTIME_ERROR,
    CliError,
    debug_enabled,
    load_cli_settings,
    options,
)
from arbitrage.db.migrate import current_revision, head_revision, upgrade_to_head
from arbitrage.logging import configure_logging, redact_text
from arbitrage.settings import ENV_FILE_VARIABLE, database_backend

app = typer.Typer(
    name="arbitrage",
    help="Funding-rate arbitrage for perpetual futures: Binance USD-M, Bybit, BingX, MEXC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(markets_app, name="markets")


@app.callback()
def _global_options(
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            envvar=ENV_FILE_VARIABLE,
            help="Settings file read after ./.env (environment variables still win).",
            dir_okay=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Debug logging and tracebacks on errors.")] = False,
) -> None:
    options.env_file = env_file
    options.debug = debug


app.command("subscribe")(cli_subscriptions.subscribe)
app.command("list")(cli_subscriptions.list_subscriptions)
app.command("show")(cli_subscriptions.show)
app.command("cancel")(cli_subscriptions.cancel)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database to the newest schema (other commands do this by themselves)."""
    settings = load_cli_settings()
    asyncio.run(upgrade_to_head(settings.database_url))
    typer.echo(f"database at revision {asyncio.run(current_revision(settings.database_url))} (head)")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    settings = load_cli_settings()
    if database_backend(settings.database_url) == "sqlite":
        path = settings.database_url.split("://", 1)[1].removeprefix("/")
        if path and path != ":memory:" and not Path(path).exists():
            typer.echo(f"none (no database file at {path}; any command creates it)")
            return
    current = asyncio.run(current_revision(settings.database_url))
    head = head_revision()
    if current is None:
        typer.echo("none (empty database; run `arbitrage db upgrade`)")
    elif current == head:
        typer.echo(f"{current} (head)")
    else:
        typer.echo(f"{current} (head is {head}; run `arbitrage db upgrade`)")


@app.command("simulator")
def simulator(
    scenario: Annotated[Path | None, typer.Option(help="Scenario file (JSON or YAML).", dir_okay=False)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 0,
    write_env: Annotated[
        Path | None, typer.Option(help="Write ARBITRAGE_EXCHANGES__* settings pointing at the simulator here.")
    ] = None,
) -> None:
    """Serve the four exchanges' APIs locally (for demos and tests) until interrupted."""
    load_cli_settings()
    from arbitrage.simulator.server import run_forever

    try:
        asyncio.run(run_forever(scenario, host, port, write_env))
    except KeyboardInterrupt:
        pass


@app.command("run")
def run() -> None:
    """Run the daemon: trade every SCHEDULED subscription at its funding time, until SIGTERM or SIGINT."""
    settings = load_cli_settings()
    if not settings.configured_exchanges:
        raise CliError(
            "no exchange is configured: set ARBITRAGE_EXCHANGES__<ID>__API_KEY and __SECRET "
            "(see config/arbitrage.env.example), or point them at `arbitrage simulator --write-env FILE`"
        )
    from arbitrage.daemon import run_daemon
    from arbitrage.db.daemon_lock import DaemonAlreadyRunning

    try:
        asyncio.run(run_daemon(settings))
    except DaemonAlreadyRunning as error:
        raise CliError(str(error), exit_code=RUNTIME_ERROR) from None


@app.command("demo")
def demo() -> None:
    """One complete funding cycle against the built-in simulator: no keys, no network, about 22 seconds."""
    settings = load_cli_settings()
    if not options.debug:  # the timeline is the output; log lines only for warnings and worse
        configure_logging(settings.resolved_log_format(sys.stderr), "WARNING")
    from arbitrage.demo import run_demo

    code = asyncio.run(run_demo())
    if code:
        raise CliError("the demo subscription did not complete (see its events above)", exit_code=RUNTIME_ERROR)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else RUNTIME_ERROR


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and `python -m arbitrage`; returns the exit code."""
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        app(args=argv, prog_name="arbitrage")
    except SystemExit as exit_:  # typer's own exits: help, usage errors (2)
        return _exit_code(exit_.code)
    except CliError as error:
        for line in error.lines:
            stderr.print(f"error: {redact_text(line)}", markup=False)
        return error.exit_code
    except KeyboardInterrupt:
        stderr.print("interrupted", markup=False)
        return 130
    except Exception as error:
        if debug_enabled():
            stderr.print(redact_text("".join(traceback.format_exception(error))), markup=False)
        # Library errors can span lines (SQLAlchemy appends the statement and a link): the first line says it.
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        stderr.print(f"error: {redact_text(message)} ({type(error).__name__})", markup=False)
        return RUNTIME_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
