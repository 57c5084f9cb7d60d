"""`arbitrage doctor [--json]`: the effective configuration and every readiness check; exit 1 on any problem."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from arbitrage.cli.context import RUNTIME_ERROR, load_cli_settings, print_json

if TYPE_CHECKING:
    from arbitrage.ops.doctor import Report

_MARKS = {"ok": "ok", "warning": "warning", "problem": "PROBLEM"}


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: configuration, checks, problems.")] = False,
) -> None:
    """Check the configuration, the database and every configured exchange; one line per problem with its fix."""
    settings = load_cli_settings()
    from arbitrage.ops.doctor import diagnose  # imports ccxt: only for this command

    report = asyncio.run(diagnose(settings))
    if as_json:
        print_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(RUNTIME_ERROR)


def _print(report: Report) -> None:
    width = max(len(name) for name in report.configuration)
    lines = ["configuration (secrets masked):"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in report.configuration.items()]
    lines.append("checks:")
    lines += [f"  {_MARKS[finding.level].ljust(7)}  {finding.line()}" for finding in report.findings]
    if report.ok:
        lines.append("all checks passed")
    else:
        lines.append(f"{len(report.problems)} problem(s):")
        lines += [f"problem: {problem.line()}" for problem in report.problems]
    typer.echo("\n".join(lines))
