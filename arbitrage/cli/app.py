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
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from arbitrage.cli import report, subscriptions
from arbitrage.cli.scan import scan
from arbitrage.cli.context import RUNTIME_ERROR, CliError, debug_enabled, load_cli_settings, options
from arbitrage.cli.db import db_app
from arbitrage.cli.doctor import doctor
from arbitrage.cli.markets import markets_app
from arbitrage.logging import redact_text
from arbitrage.settings import ENV_FILE_VARIABLE

app = typer.Typer(
    name="arbitrage",
    help="Funding-rate arbitrage for perpetual futures: Binance USD-M, Bybit, BingX, MEXC.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
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
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Info log lines (commands log warnings only).")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Debug logging and tracebacks on errors.")] = False,
) -> None:
    options.env_file = env_file
    options.verbose = verbose
    options.debug = debug


app.command("subscribe")(subscriptions.subscribe)
app.command("scan")(scan)
app.command("list")(subscriptions.list_subscriptions)
# `show -1` is an id out of range, not an unknown option
ID_COMMAND = {"context_settings": {"ignore_unknown_options": True}}
app.command("show", **ID_COMMAND)(subscriptions.show)
app.command("cancel", **ID_COMMAND)(subscriptions.cancel)
app.command("doctor")(doctor)
app.command("report")(report.report)


@app.command("simulator")
def simulator(
    scenario: Annotated[
        Path | None, typer.Option(help="Scenario file (JSON or YAML).", exists=True, dir_okay=False)
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).", min=0, max=65535)] = 0,
    write_env: Annotated[
        Path | None,
        typer.Option(help="Write ARBITRAGE_EXCHANGES__* settings pointing at the simulator here.", dir_okay=False),
    ] = None,
) -> None:
    """Serve the four exchanges' APIs locally (for demos and tests) until interrupted."""
    load_cli_settings()
    from arbitrage.simulator.scenario import ScenarioError
    from arbitrage.simulator.server import run_forever

    if write_env is not None and not write_env.parent.is_dir():
        raise CliError(f"--write-env: directory {write_env.parent} does not exist")
    try:
        asyncio.run(run_forever(scenario, host, port, write_env))
    except KeyboardInterrupt:
        pass
    except ScenarioError as error:  # unreadable, or contents the engine refuses when loading it
        raise CliError(f"--scenario: {error}") from None
    except OSError as error:  # the address: unknown host, port in use, not allowed
        raise CliError(f"--host/--port: cannot listen on {host}:{port}: {error.strerror or error}") from None


@app.command("run")
def run(
    standby: Annotated[
        bool,
        typer.Option(
            "--standby",
            help="If another daemon holds the database, wait as a hot standby (markets loaded) and take over when "
            "it is gone, instead of exiting.",
        ),
    ] = False,
) -> None:
    """Run the daemon: trade every SCHEDULED subscription at its funding time, until SIGTERM or SIGINT."""
    settings = load_cli_settings(daemon=True)
    if not settings.configured_exchanges:
        raise CliError(
            "no exchange is configured: set ARBITRAGE_EXCHANGES__<ID>__API_KEY and __SECRET "
            "(see config/arbitrage.env.example), or point them at `arbitrage simulator --write-env FILE`"
        )
    from arbitrage.daemon import run_daemon
    from arbitrage.db.daemon_lock import DaemonAlreadyRunning, DaemonLockLost
    from arbitrage.db.startup import DatabaseUnreachable
    from arbitrage.ops.http_server import HttpListenError

    try:
        asyncio.run(run_daemon(settings, standby=standby))
    except (DaemonAlreadyRunning, DaemonLockLost, HttpListenError) as error:
        raise CliError(str(error), exit_code=RUNTIME_ERROR) from None
    except DatabaseUnreachable as error:
        raise CliError(str(error), exit_code=RUNTIME_ERROR) from error.__cause__


@app.command("demo")
def demo() -> None:
    """One complete funding cycle against the built-in simulator: no keys, no network, about 22 seconds."""
    load_cli_settings()  # the timeline is the output; log lines only for warnings and worse
    from arbitrage.cli.demo import run_demo

    code = asyncio.run(run_demo())
    if code:
        raise CliError("the demo subscription did not complete (see its events above)", exit_code=RUNTIME_ERROR)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else RUNTIME_ERROR


def _usage_line(error: ClickException) -> str:
    # an option parsed through pydantic says "Value error, ..." before the validator's own words
    message = " ".join(error.format_message().split()).replace("Value error, ", "")
    context = getattr(error, "ctx", None)
    return f"{message} (see `{context.command_path} --help`)" if context is not None else message


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and `python -m arbitrage`; returns the exit code."""
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        # standalone_mode=False: click's usage errors come here as exceptions, printed as one line below
        return _exit_code(app(args=argv, prog_name="arbitrage", standalone_mode=False))
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except NoArgsIsHelpError as error:
        sys.stdout.write(error.format_message() + "\n")
        return error.exit_code
    except ClickException as error:
        stderr.print(f"error: {redact_text(_usage_line(error))}", markup=False)
        return error.exit_code
    except CliError as error:
        if debug_enabled() and error.__cause__ is not None:  # a library failure behind the one line
            stderr.print(redact_text("".join(traceback.format_exception(error.__cause__))), markup=False)
        for line in error.lines:
            stderr.print(f"error: {redact_text(line)}", markup=False)
        return error.exit_code
    except (KeyboardInterrupt, typer.Abort):
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
