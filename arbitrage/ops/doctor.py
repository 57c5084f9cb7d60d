"""`arbitrage doctor`: is this installation ready to trade? Every check gives one finding; a problem carries its fix.

- the effective configuration, secrets masked (never a key, secret, password or alert URL);
- the database answers and is at the Alembic head (nothing is created: a missing database is a finding);
- per configured exchange: reachable (markets load), clock offset within ARBITRAGE_MAX_CLOCK_SKEW_MS, the
  credentials work (the trader checks' harmless signed read, the futures balance), the position mode, MEXC's
  futures-order permission (which MEXC tells no API client: a warning), the request budget in force;
- alerts: where they go (never the URL) and which statuses alert.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

from arbitrage.db.migrate import current_revision, head_revision
from arbitrage.db.urls import database_backend
from arbitrage.domain.venues import VENUES, RateLimit
from arbitrage.exchanges.budget import RequestBudget
from arbitrage.exchanges.ccxt_connector import CcxtConnector
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.exchanges.factory import build_connectors
from arbitrage.logging import redact_text
from arbitrage.services.subscription_trader_checks import CredentialsRejected, check_credentials
from arbitrage.settings import ENV_PREFIX, ExchangeSettings, Settings

MASK = "***"
# A database or exchange that has not answered in this long is a finding, not a hang.
DATABASE_TIMEOUT_SECONDS = 10.0
EXCHANGE_TIMEOUT_SECONDS = 60.0


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Finding:
    subject: str  # "database", "alerts", an exchange id
    check: str
    level: Level
    detail: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.subject}: {self.check}: {self.detail}"
        return f"{text}; {self.fix}" if self.fix else text


@dataclass
class Report:
    configuration: dict[str, str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level is Level.PROBLEM]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "configuration": self.configuration,
            "checks": [{**asdict(finding), "level": str(finding.level)} for finding in self.findings],
            "problems": [finding.line() for finding in self.problems],
        }


async def diagnose(settings: Settings) -> Report:
    report = Report(effective_configuration(settings))
    database, exchanges = await asyncio.gather(check_database(settings), check_exchanges(settings))
    report.findings += [*database, *exchanges, *check_alerts(settings)]
    return report


# --- configuration -------------------------------------------------------------------------------------------------


def effective_configuration(settings: Settings) -> dict[str, str]:
    """Every setting as the daemon sees it, by variable name; secrets show as *** (or `unset`)."""
    shown: dict[str, str] = {}
    for name in Settings.model_fields:
        if name == "exchanges":
            continue
        value = getattr(settings, name)
        if isinstance(value, BaseModel):  # a nested group such as ARBITRAGE_AUTO__*
            for member in type(value).model_fields:
                variable = f"{ENV_PREFIX}{name.upper()}__{member.upper()}"
                shown[variable] = _shown(member, getattr(value, member), settings)
            continue
        shown[ENV_PREFIX + name.upper()] = _shown(name, value, settings)
    for exchange_id, config in settings.exchanges.items():
        if not config.configured:
            continue
        for name in ExchangeSettings.model_fields:
            variable = f"{ENV_PREFIX}EXCHANGES__{exchange_id.upper()}__{name.upper()}"
            shown[variable] = _shown(name, getattr(config, name), settings)
    return shown


def _shown(name: str, value: Any, settings: Settings) -> str:
    if value is None:
        return "unset"
    if name == "alert_urls":
        schemes = [url.split("://", 1)[0] for url in settings.alert_url_list()]
        return f"{MASK} ({len(schemes)}: {', '.join(schemes)})"
    if isinstance(value, SecretStr):
        return MASK
    if name == "database_url":
        return _masked_database_url(value)
    if isinstance(value, frozenset | list | tuple):
        return ",".join(sorted(str(item) for item in value)) or "none"
    return str(value)


def _masked_database_url(url: str) -> str:
    if database_backend(url) == "sqlite":
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # unparseable here means the settings let through something odd: show nothing of it
        return MASK


# --- database ------------------------------------------------------------------------------------------------------

UPGRADE = "run `arbitrage db upgrade`"


async def check_database(settings: Settings) -> list[Finding]:
    url = settings.database_url
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        return [Finding("database", "reachable", Level.PROBLEM, f"no database file at {path}",
                        f"{UPGRADE} (or start `arbitrage run`, which creates it)")]
    try:
        current = await asyncio.wait_for(current_revision(url), DATABASE_TIMEOUT_SECONDS)
    except Exception as error:  # any failure to connect is the finding; its first line says which
        reason = redact_text((str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0])
        return [Finding("database", "reachable", Level.PROBLEM,
                        f"cannot connect: {reason or type(error).__name__}",
                        "check ARBITRAGE_DATABASE_URL and that the database server runs and the database exists")]
    head = head_revision()
    found = [Finding("database", "reachable", Level.OK, f"{_masked_database_url(url)} answers")]
    if current is None:
        found.append(Finding("database", "schema", Level.PROBLEM, "empty database (no schema)", UPGRADE))
    elif current != head:
        found.append(Finding("database", "schema", Level.PROBLEM, f"at revision {current}, head is {head}", UPGRADE))
    else:
        found.append(Finding("database", "schema", Level.OK, f"at revision {current} (head)"))
    return found


def _sqlite_file(url: str) -> Path | None:
    if database_backend(url) != "sqlite":
        return None
    path = url.split("://", 1)[1].removeprefix("/").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


# --- exchanges -----------------------------------------------------------------------------------------------------


async def check_exchanges(settings: Settings) -> list[Finding]:
    if not settings.configured_exchanges:
        return [Finding("exchanges", "configured", Level.PROBLEM, "no exchange is configured",
                        "set ARBITRAGE_EXCHANGES__<ID>__API_KEY and __SECRET (see config/arbitrage.env.example)")]
    connectors = build_connectors(settings)
    try:
        per_exchange = await asyncio.gather(*(
            _bounded(exchange_id, check_exchange(settings, connectors, exchange_id))
            for exchange_id in settings.configured_exchanges
        ))
    finally:
        await connectors.close()
    return [finding for findings in per_exchange for finding in findings]


async def _bounded(exchange_id: str, checks: Awaitable[list[Finding]]) -> list[Finding]:
    try:
        return await asyncio.wait_for(checks, EXCHANGE_TIMEOUT_SECONDS)
    except TimeoutError:
        return [Finding(exchange_id, "reachable", Level.PROBLEM,
                        f"no answer within {EXCHANGE_TIMEOUT_SECONDS:g} s", _network_fix(exchange_id))]


async def check_exchange(settings: Settings, connectors: ConnectorRegistry, exchange_id: str) -> list[Finding]:
    connector = connectors.get(exchange_id)
    found: list[Finding] = []

    async def attempt(check: str, call: Callable[[], Awaitable[Finding]], fix: str) -> bool:
        try:
            found.append(await call())
            return True
        except ExchangeError as error:
            found.append(Finding(exchange_id, check, Level.PROBLEM, error.user_message.removeprefix(
                f"{exchange_id}: "), fix))
            return False

    async def reachable() -> Finding:
        await connector.load_markets()
        return Finding(exchange_id, "reachable", Level.OK, f"{len(connector.markets())} USDT perpetuals listed")

    if not await attempt("reachable", reachable, _network_fix(exchange_id)):
        return found  # nothing else can be asked

    async def clock() -> Finding:
        offset = await connector.measure_clock_offset()
        detail = (f"offset {offset.offset_ms:+.1f} ms ± {offset.uncertainty_ms:.1f} ms "
                  f"(limit {settings.max_clock_skew_ms} ms)")
        if abs(offset.offset_ms) <= settings.max_clock_skew_ms:  # the rule preparation applies before opening
            return Finding(exchange_id, "clock", Level.OK, detail)
        return Finding(exchange_id, "clock", Level.PROBLEM, detail + ": nothing opens there",
                       "synchronise this machine's clock (chrony, or `timedatectl set-ntp true`)")

    await attempt("clock", clock, _network_fix(exchange_id))
    credentials = await _credentials(settings, connectors, exchange_id)
    found += credentials
    if credentials[0].level is Level.PROBLEM:
        found.append(_rate_budget(settings, connector))
        return found  # the position mode needs the same key

    async def position_mode() -> Finding:
        mode = await connector.known_position_mode()
        return Finding(exchange_id, "position mode", Level.OK, f"{mode} (both modes are supported)")

    await attempt("position mode", position_mode, "check the key's futures permissions")
    found.append(_rate_budget(settings, connector))
    return found


async def _credentials(settings: Settings, connectors: ConnectorRegistry, exchange_id: str) -> list[Finding]:
    config = settings.exchange(exchange_id)
    variable = f"{ENV_PREFIX}EXCHANGES__{exchange_id.upper()}"
    if not (config.api_key and config.secret):
        return [Finding(exchange_id, "credentials", Level.PROBLEM, "no API key and secret configured",
                        f"set {variable}__API_KEY and {variable}__SECRET")]
    try:
        warnings = await check_credentials(connectors, [exchange_id])
    except CredentialsRejected as error:  # its text names the exchange and the variables to fix
        what, _, variables = str(error).rpartition("; check ")
        return [Finding(exchange_id, "credentials", Level.PROBLEM, what.removeprefix(f"{exchange_id} "),
                        f"check {variables}")]
    except ExchangeError as error:
        return [Finding(exchange_id, "credentials", Level.PROBLEM,
                        f"the signed read failed: {error.user_message.removeprefix(f'{exchange_id}: ')}",
                        _network_fix(exchange_id))]
    found = [Finding(exchange_id, "credentials", Level.OK, "a signed read (the futures balance) succeeded")]
    # MEXC answers no read request with the futures-order permission: said, not counted as a problem.
    found += [Finding(exchange_id, "futures trading", Level.WARNING, warning.removeprefix(f"{exchange_id}: "))
              for warning in warnings]
    return found


def _rate_budget(settings: Settings, connector: CcxtConnector) -> Finding:
    exchange_id = connector.exchange_id
    client = connector.client
    in_force = (isinstance(connector.budget, RequestBudget) and getattr(client, "arbitrage_budget", None)
                is connector.budget and not client.enableRateLimit)
    if not in_force:
        return Finding(exchange_id, "rate budget", Level.PROBLEM, "requests are not paced by the account's budget",
                       "this is a bug in this installation: reinstall arbitrage")
    venue = VENUES[exchange_id]
    scale = settings.exchange(exchange_id).rate_limit_scale
    detail = (f"orders {_limits(venue.order_limits, scale)}; other requests {_limits(venue.request_limits, scale)}"
              f" (RATE_LIMIT_SCALE {scale:g})")
    return Finding(exchange_id, "rate budget", Level.OK, detail)


def _limits(limits: tuple[RateLimit, ...], scale: float) -> str:
    return " and ".join(
        f"{limit.scaled(scale)}{' weight' if limit.weighted else ''} / {limit.seconds:g} s per {limit.scope}"
        for limit in limits
    )


def _network_fix(exchange_id: str) -> str:
    variable = f"{ENV_PREFIX}EXCHANGES__{exchange_id.upper()}"
    return f"check the network and {variable}__BASE_URL / {variable}__SANDBOX"


# --- alerts --------------------------------------------------------------------------------------------------------


def check_alerts(settings: Settings) -> list[Finding]:
    urls = settings.alert_url_list()
    statuses = ", ".join(["NEEDS_ATTENTION", *sorted(settings.alert_statuses)])
    if not urls:
        return [Finding("alerts", "targets", Level.WARNING,
                        "no ARBITRAGE_ALERT_URLS: a NEEDS_ATTENTION row is only in the database and the log")]
    schemes = ", ".join(url.split("://", 1)[0] for url in urls)
    return [Finding("alerts", "targets", Level.OK, f"{len(urls)} ({schemes}) on {statuses}")]
