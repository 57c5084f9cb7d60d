"""`arbitrage subscribe | list | show | cancel`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from rich.console import Console

from arbitrage.cli.context import (
    RUNTIME_ERROR,
    CliError,
    check_database_location,
    load_cli_settings,
    open_database,
    open_existing_database,
    print_json,
    stdout_console,
)
from arbitrage.cli.presenters import (
    events_table,
    orders_table,
    payments_table,
    row_to_dict,
    subscription_detail_table,
    subscription_to_dict,
    subscriptions_table,
)
from arbitrage.cli.validation import SubscribeInput, validate_subscribe
from arbitrage.db import repository as repo
from arbitrage.db.models import FundingPayment, Order, Subscription, SubscriptionEvent
from arbitrage.domain import EXCHANGE_IDS
from arbitrage.domain.status import Status
from arbitrage.domain.subscription_request import InputError, NewSubscription
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.services.cancellation import CancelRefused, cancel_subscription
from arbitrage.services.instant_capacity import instant_note
from arbitrage.services.pipeline_config import PipelineConfig
from arbitrage.services.send_plan import order_windows
from arbitrage.services.subscription_review import review_subscription, store_reviewed
from arbitrage.services.subscription_trader_checks import CredentialsRejected
from arbitrage.settings import Settings

_EXCHANGES = ", ".join(EXCHANGE_IDS)
_Detail = tuple[Subscription, list[Order], list[SubscriptionEvent], list[FundingPayment]]
# Ids are 64-bit integers in both databases: a larger number is a usage error, not an overflow.
MAX_ID = 2**63 - 1
IdArgument = Annotated[int, typer.Argument(metavar="ID", help="Subscription id.", min=1, max=MAX_ID)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (Decimals as strings, ISO-8601 times).")]


def subscribe(
    primary: Annotated[str, typer.Option(help=f"Exchange whose funding is collected ({_EXCHANGES}).")],
    hedge: Annotated[str, typer.Option(help="Exchange holding the opposite position.")],
    side: Annotated[str, typer.Option(help="Primary leg side: long or short; the hedge takes the opposite.")],
    amount: Annotated[str, typer.Option(help="Position size in base units (same on both legs), e.g. 0.01.")],
    symbol: Annotated[str | None, typer.Option(help="Unified symbol for both legs, e.g. BTC/USDT:USDT.")] = None,
    funding_time: Annotated[
        str | None,
        typer.Option(help="Funding time, ISO-8601 with offset, e.g. 2026-11-22T08:00:00Z (default: the primary's next)."),
    ] = None,
    leverage: Annotated[
        str | None,
        typer.Option(help="Leverage 1..125, or max: the highest both exchanges allow (default: ARBITRAGE_DEFAULT_LEVERAGE)."),
    ] = None,
    lead_seconds: Annotated[
        str | None, typer.Option(help="Open this many seconds before funding (default: ARBITRAGE_LEAD_SECONDS).")
    ] = None,
    primary_symbol: Annotated[str | None, typer.Option(help="Symbol on the primary, if it differs.")] = None,
    hedge_symbol: Annotated[str | None, typer.Option(help="Symbol on the hedge, if it differs.")] = None,
    force: Annotated[
        bool,
        typer.Option(help="Subscribe even though the side pays at the current rate, an identical subscription "
                          "exists, or the funding time is more than 3 instants ahead."),
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Schedule one funding capture: open both legs shortly before the funding time, close after it."""
    settings = load_cli_settings()
    raw = SubscribeInput(
        primary=primary,
        hedge=hedge,
        side=side,
        amount=amount,
        symbol=symbol,
        primary_symbol=primary_symbol,
        hedge_symbol=hedge_symbol,
        leverage=leverage,
        funding_time=funding_time,
        lead_seconds=lead_seconds,
    )
    try:  # everything that can be checked offline is, before the database or an exchange is touched
        request = validate_subscribe(
            raw,
            now=datetime.now(UTC),
            default_lead_seconds=settings.lead_seconds,
            min_lead_seconds={exchange: settings.min_lead_seconds(exchange) for exchange in EXCHANGE_IDS},
            require_funding_time=False,
        )
        check_database_location(settings, create=True)
        connectors = connectors_for(settings, [request.primary_exchange, request.hedge_exchange])
    except InputError as error:
        raise CliError(str(error)) from None
    symbol_options = (
        "--primary-symbol" if primary_symbol else "--symbol", "--hedge-symbol" if hedge_symbol else "--symbol"
    )
    created, notes, warnings = asyncio.run(_check_and_create(settings, connectors, request, symbol_options, force))
    err_console = Console(stderr=True, highlight=False, soft_wrap=True)
    for prefix, lines in (("note", notes), ("warning", warnings)):
        for line in lines:
            err_console.print(f"{prefix}: {line}", markup=False)
    if json_output:
        print_json(created)
    else:
        typer.echo(created["id"])


async def _check_and_create(
    settings: Settings, connectors: ConnectorRegistry, request: NewSubscription, symbol_options: tuple[str, str],
    force: bool,
) -> tuple[dict[str, object], list[str], list[str]]:
    """Every check against the exchanges and the existing database, then (only if all pass) the row and the market
    rows fetched for it, in one transaction: a refused request writes nothing and creates no database."""
    try:
        async with open_existing_database(settings) as existing:
            try:
                review = await review_subscription(
                    existing, connectors, request, default_leverage=settings.default_leverage,
                    now=datetime.now(UTC), symbol_options=symbol_options, force=force,
                    book_levels=settings.scan_book_levels,
                )
            except (InputError, CredentialsRejected) as error:  # bad input or a key to fix: exit 2
                raise CliError(str(error)) from None
            except ExchangeError as error:
                raise CliError(error.user_message, exit_code=RUNTIME_ERROR) from None
            capacity = await instant_note(existing, review.request, PipelineConfig.from_settings(settings),
                                          order_windows(settings.rate_limit_scales()))
        async with open_database(settings) as database, database.unit_of_work() as session:
            subscription = await store_reviewed(session, review, datetime.now(UTC))
            created = subscription_to_dict(subscription, PipelineConfig.from_settings(settings))
        return created, [*review.notes, *([capacity] if capacity else [])], review.warnings
    finally:
        await connectors.close()


def connectors_for(settings: Settings, exchanges: list[str]) -> ConnectorRegistry:
    """Connectors for the subscription's exchanges; a clear error for one that is not configured."""
    from arbitrage.exchanges.factory import build_connector  # imports ccxt: only for this command

    registry = ConnectorRegistry()
    for exchange in exchanges:
        if exchange not in settings.configured_exchanges:
            option = "--primary" if exchange == exchanges[0] else "--hedge"
            raise InputError(
                option,
                f"{exchange} is not configured: set ARBITRAGE_EXCHANGES__{exchange.upper()}__API_KEY and __SECRET "
                "(subscribe checks the symbol, amount and leverage against the exchange's markets)",
            )
        # A handful of requests per command: ccxt's client-side throttle would only add pauses (MEXC's
        # contract/detail costs 100 units, i.e. a 5 s wait before the next call).
        registry.connectors[exchange] = build_connector(settings, exchange)
    return registry


def parse_status(value: str) -> Status:
    try:
        return Status(value.strip().upper())
    except ValueError:
        raise CliError(f"--status: unknown status {value!r} (choose from {', '.join(Status)})") from None


def list_subscriptions(
    status: Annotated[str | None, typer.Option(help="Only subscriptions in this status.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """List subscriptions, soonest funding time first."""
    wanted = parse_status(status) if status is not None else None
    settings = load_cli_settings()

    async def fetch() -> list[Subscription]:
        async with open_existing_database(settings) as database:
            if database is None:
                return []
            async with database.unit_of_work() as session:
                return list(await repo.list_subscriptions(session, wanted))

    subscriptions = asyncio.run(fetch())
    if json_output:
        config = PipelineConfig.from_settings(settings)
        print_json([subscription_to_dict(subscription, config) for subscription in subscriptions])
        return
    if not subscriptions:
        typer.echo("no subscriptions" + (f" in status {wanted}" if wanted else ""))
        return
    stdout_console().print(subscriptions_table(subscriptions, datetime.now(UTC), settings.default_leverage))


def show(subscription_id: IdArgument, json_output: JsonFlag = False) -> None:
    """One subscription with its orders, events and funding payments."""
    settings = load_cli_settings()

    async def fetch() -> _Detail:
        async with _session_for(settings, subscription_id) as session:
            return await _detail(session, subscription_id)

    subscription, orders, events, payments = asyncio.run(fetch())
    config = PipelineConfig.from_settings(settings)
    if json_output:
        print_json(
            {
                "subscription": subscription_to_dict(subscription, config),
                "orders": [row_to_dict(order) for order in orders],
                "events": [row_to_dict(event) for event in events],
                "funding_payments": [row_to_dict(payment) for payment in payments],
            }
        )
        return
    console = stdout_console()
    console.print(subscription_detail_table(subscription, datetime.now(UTC), config, settings.default_leverage))
    for table, rows in ((orders_table, orders), (events_table, events), (payments_table, payments)):
        if rows:
            console.print(table(rows))  # type: ignore[operator]


def cancel(subscription_id: IdArgument) -> None:
    """Cancel a subscription that is still SCHEDULED."""
    settings = load_cli_settings()

    async def run() -> None:
        async with _session_for(settings, subscription_id) as session:
            try:
                await cancel_subscription(session, subscription_id)
            except (repo.SubscriptionNotFound, CancelRefused) as error:
                raise CliError(str(error)) from None

    asyncio.run(run())
    typer.echo(f"subscription {subscription_id} cancelled")


@asynccontextmanager
async def _session_for(settings: Settings, subscription_id: int) -> AsyncIterator[AsyncSession]:
    """A session on the existing database; with no database there is no such subscription (none is created)."""
    async with open_existing_database(settings) as database:
        if database is None:
            raise repo_not_found(subscription_id)
        async with database.unit_of_work() as session:
            yield session


async def _detail(session: AsyncSession, subscription_id: int) -> _Detail:
    subscription = await _require(session, subscription_id)
    return (
        subscription,
        list(await repo.orders_for(session, subscription_id)),
        list(await repo.events_for(session, subscription_id)),
        list(await repo.payments_for(session, subscription_id)),
    )


def repo_not_found(subscription_id: int) -> CliError:
    return CliError(str(repo.SubscriptionNotFound(subscription_id)))


async def _require(session: AsyncSession, subscription_id: int) -> Subscription:
    try:
        return await repo.require_subscription(session, subscription_id)
    except repo.SubscriptionNotFound as error:
        raise CliError(str(error)) from None
