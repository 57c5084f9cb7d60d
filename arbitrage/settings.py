"""Settings from the environment, `.env` in the working directory and an optional `--env-file`.

Every variable is `ARBITRAGE_<NAME>`; nested ones use `__`, e.g. `ARBITRAGE_EXCHANGES__BYBIT__API_KEY`.
Precedence (highest first): process environment, `--env-file` / `ARBITRAGE_ENV_FILE`, `./.env`, defaults.
Every setting is documented in `config/arbitrage.env.example`.
"""

from __future__ import annotations

import os
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from arbitrage.domain import EXCHANGE_ALIASES, EXCHANGE_IDS
from arbitrage.db.urls import async_database_url, database_backend
from arbitrage.logging import register_secrets
from arbitrage.domain.status import Status
from arbitrage.domain.venues import VENUES

ENV_PREFIX = "ARBITRAGE_"
ENV_FILE_VARIABLE = "ARBITRAGE_ENV_FILE"
DEFAULT_DATABASE_URL = "sqlite:///arbitrage.db"

DEFAULT_MIN_LEAD_SECONDS: dict[str, int] = {venue.id: venue.min_lead_seconds for venue in VENUES.values()}
DEFAULT_ORDER_RECV_WINDOW_MS = 3000

# NEEDS_ATTENTION always alerts; these may be added. Default ERROR and SKIPPED: each means the subscription will not
# earn what was planned (and an ERROR may have cost fees); COMPLETED is the normal outcome, off to keep channels quiet.
ALERTABLE_STATUSES = (Status.ERROR, Status.SKIPPED, Status.COMPLETED)
DEFAULT_ALERT_STATUSES = frozenset({Status.ERROR, Status.SKIPPED})


class SettingsError(Exception):
    """Invalid configuration. `lines` are ready to print, one per problem, never containing a value."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class ExchangeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None
    sandbox: bool = False
    base_url: str | None = None
    min_lead_seconds: int | None = Field(default=None, ge=0)
    # Every order carries this receive window: the exchange executes it only while its clock is within the
    # window of the order's timestamp (MEXC counts whole seconds). It bounds how long an order whose answer was
    # lost could still execute. 1000..60000 (the largest window Binance and MEXC accept).
    order_recv_window_ms: int = Field(default=DEFAULT_ORDER_RECV_WINDOW_MS, ge=1000, le=60000)
    # Every documented rate limit of the exchange times this (VIP tiers raise them; 1 = the non-VIP limits).
    rate_limit_scale: float = Field(default=1.0, gt=0, le=1000)
    # The taker fee rate the scanner and subscribe's estimate use (0.0004 = 0.04 %), instead of the exchange's
    # market data (which gives the standard tier's rate): set it to your account's VIP or discounted rate.
    taker_fee: Decimal | None = Field(default=None, ge=0, lt=Decimal("0.01"))

    @field_validator("api_key", "secret", "password", "base_url", "min_lead_seconds", "taker_fee", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `ARBITRAGE_EXCHANGES__BYBIT__API_KEY=` (as copied from the example file) means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8080/bybit")
        return value.rstrip("/")

    @property
    def configured(self) -> bool:
        """An exchange is usable with an API key and secret, or with a BASE_URL (simulator/proxy)."""
        return bool(self.api_key and self.secret) or self.base_url is not None

    def secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in (self.api_key, self.secret, self.password) if s is not None]


def _comma_list(value: Any) -> Any:
    """`bybit, mexc` (as written in an env file) or a JSON list; empty means "no restriction"."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class AutoSettings(BaseModel):
    """Auto-subscribe (`ARBITRAGE_AUTO__*`): before each funding instant the daemon scans and creates the
    subscriptions these rules allow. Caps count the live subscriptions of the same instant, whoever created them."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    min_net_bps: Decimal = Field(default=Decimal(5), allow_inf_nan=False)
    notional_usdt: Decimal = Field(default=Decimal(1000), gt=0, allow_inf_nan=False)
    max_per_instant: int = Field(default=2, ge=0)
    max_per_exchange: int = Field(default=1, ge=0)  # an exchange counts whether primary or hedge
    max_per_symbol: int = Field(default=1, ge=0)
    max_notional_per_exchange: Decimal = Field(default=Decimal(5000), ge=0, allow_inf_nan=False)
    exchanges: Annotated[list[str], NoDecode] = Field(default_factory=list)  # empty: every configured exchange
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=list)  # empty: every symbol
    scan_ahead_seconds: int = Field(default=300, ge=10, le=86400)

    @field_validator("exchanges", mode="before")
    @classmethod
    def _exchange_ids(cls, value: Any) -> Any:
        value = _comma_list(value)
        if not isinstance(value, list):
            return value
        ids = []
        for raw_id in value:
            key = EXCHANGE_ALIASES.get(str(raw_id).strip().lower(), str(raw_id).strip().lower())
            if key not in EXCHANGE_IDS:
                raise ValueError(f"unknown exchange id {raw_id!r} (choose from {', '.join(EXCHANGE_IDS)})")
            ids.append(key)
        return ids

    @field_validator("symbols", mode="before")
    @classmethod
    def _upper_symbols(cls, value: Any) -> Any:
        value = _comma_list(value)
        return [str(symbol).strip().upper() for symbol in value] if isinstance(value, list) else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        # A `.env` may be shared with other tools (docker compose reads it too): foreign names are ignored,
        # misspelt ARBITRAGE_* names in env files are reported by `_unknown_names_in`.
        extra="ignore",
    )

    database_url: str = DEFAULT_DATABASE_URL
    exchanges: dict[str, ExchangeSettings] = Field(default_factory=dict)
    lead_seconds: int = Field(default=5, ge=0)
    default_leverage: int = Field(default=3, ge=1, le=125)
    log_format: Literal["json", "console"] | None = None  # None: console on a terminal, json otherwise
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    funding_confirm_timeout_seconds: int = Field(default=120, ge=0)
    min_funding_rate: Decimal = Field(default=Decimal(0), allow_inf_nan=False)
    markets_refresh_minutes: int = Field(default=60, ge=1)
    leverage_sync_ahead_seconds: int = Field(default=30, ge=0)
    poll_interval_seconds: float = Field(default=2, gt=0)
    order_timeout_seconds: float = Field(default=10, gt=0)
    # Nothing opens while an exchange's clock offset is unknown or larger than this (milliseconds).
    max_clock_skew_ms: int = Field(default=1000, ge=1, le=60000)
    # Each exchange's clock offset is measured at start and this often (its server-time endpoint).
    clock_check_minutes: float = Field(default=5, gt=0, le=1440)
    # The scanner's spread estimate: book levels read per leg, and at most this many books per scan (the legs of
    # the best candidates first; a row past the budget shows its spread as unknown).
    scan_book_levels: int = Field(default=20, ge=1, le=500)
    scan_max_order_books: int = Field(default=40, ge=0, le=1000)
    # Apprise URLs, comma separated; they carry tokens, so the whole value is a secret.
    alert_urls: SecretStr | None = None
    alert_statuses: Annotated[frozenset[Status], NoDecode] = DEFAULT_ALERT_STATUSES
    # One attempt at one alert target may take this long; at shutdown, waiting alerts get this long to go out.
    alert_timeout_seconds: float = Field(default=10, gt=0, le=300)
    # The daemon's /healthz, /readyz and /metrics listener: off unless a port is set (0: any free port).
    http_port: int | None = Field(default=None, ge=0, le=65535)
    http_host: str = "127.0.0.1"

    @field_validator("http_port", mode="before")
    @classmethod
    def _empty_port_is_off(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("http_host")
    @classmethod
    def _check_http_host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a host name or address to listen on, such as 127.0.0.1")
        return value.strip()
    auto: AutoSettings = Field(default_factory=AutoSettings)
    # How often the daemon lock is checked: a standby tries to take it (its takeover delay after a holder dies), the
    # holder checks its PostgreSQL session still holds it (a daemon that lost it stops).
    lock_poll_seconds: float = Field(default=1, gt=0, le=60)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        database_backend(value)
        return value

    @field_validator("alert_urls", mode="before")
    @classmethod
    def _check_alert_urls(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        import apprise  # only when alerts are configured: it takes a third of a second to import

        for position, url in enumerate(_split_list(str(raw)), start=1):
            register_secrets(url_secret_parts(url))  # before Apprise parses (and debug-logs) it
            # The message never repeats the value, not even its scheme: it may hold a token.
            if "://" not in url or not apprise.Apprise().add(url):
                raise ValueError(f"entry {position} is not an Apprise URL Apprise understands "
                                 "(e.g. json://host/path, tgram://bottoken/chatid; see the Apprise wiki)")
        return raw

    @field_validator("alert_statuses", mode="before")
    @classmethod
    def _parse_alert_statuses(cls, value: Any) -> Any:
        names = _split_list(value) if isinstance(value, str) else [str(name) for name in value]
        statuses = set()
        for name in names:
            if name.upper() == Status.NEEDS_ATTENTION:
                continue  # always alerts
            if name.upper() not in ALERTABLE_STATUSES:
                choices = ", ".join(ALERTABLE_STATUSES)
                raise ValueError(f"unknown status {name!r}: choose from {choices} (NEEDS_ATTENTION always alerts)")
            statuses.add(Status(name.upper()))
        return frozenset(statuses)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.lower() or None
        return value

    @field_validator("exchanges", mode="before")
    @classmethod
    def _normalize_exchange_ids(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        normalized: dict[str, Any] = {}
        for raw_id, config in value.items():
            key = str(raw_id).lower()
            key = EXCHANGE_ALIASES.get(key, key)
            if key not in EXCHANGE_IDS:
                raise ValueError(f"unknown exchange id {raw_id!r} (choose from {', '.join(EXCHANGE_IDS)})")
            if key in normalized:
                raise ValueError(f"exchange {key!r} is configured twice (under an alias and its id)")
            normalized[key] = config
        return normalized

    @model_validator(mode="after")
    def _every_exchange_present(self) -> Settings:
        for exchange_id in EXCHANGE_IDS:
            config = self.exchanges.setdefault(exchange_id, ExchangeSettings())
            if config.min_lead_seconds is None:
                config.min_lead_seconds = DEFAULT_MIN_LEAD_SECONDS.get(exchange_id, 0)
        return self

    def exchange(self, exchange_id: str) -> ExchangeSettings:
        return self.exchanges[exchange_id]

    def rate_limit_scales(self) -> dict[str, float]:
        return {exchange_id: config.rate_limit_scale for exchange_id, config in self.exchanges.items()}

    def min_lead_seconds(self, exchange_id: str) -> int:
        return self.exchanges[exchange_id].min_lead_seconds or 0

    @property
    def configured_exchanges(self) -> list[str]:
        return [exchange_id for exchange_id in EXCHANGE_IDS if self.exchanges[exchange_id].configured]

    def alert_url_list(self) -> list[str]:
        return _split_list(self.alert_urls.get_secret_value()) if self.alert_urls else []

    def secret_values(self) -> list[str]:
        """Every configured credential (alert URLs and their tokens included), for the log redactor."""
        exchange_secrets = [value for config in self.exchanges.values() for value in config.secret_values()]
        return exchange_secrets + [part for url in self.alert_url_list() for part in url_secret_parts(url)]

    def resolved_log_format(self, stream: Any = None) -> Literal["json", "console"]:
        if self.log_format is not None:
            return self.log_format
        stream = stream if stream is not None else sys.stderr
        return "console" if getattr(stream, "isatty", lambda: False)() else "json"

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def url_secret_parts(url: str) -> list[str]:
    """The URL and every piece of it that may be a token: user, password, host names without a dot (Telegram's
    bot token, Discord's webhook id), path segments and query values. Libraries log URLs in pieces (Apprise logs
    the HTTP URL it posts to), so each piece is redacted on its own."""
    parts = urlsplit(url)
    pieces = [url, parts.username, parts.password]
    location = parts.netloc.rsplit("@", 1)[-1]  # tgram://123456:ABC-token/chat: the "host:port" is the token
    if "." not in location and not location.startswith("localhost"):
        pieces += [location, *location.split(":")]
    pieces += [unquote(segment) for segment in parts.path.split("/")]
    pieces += [value for _name, value in parse_qsl(parts.query)]
    return [piece for piece in pieces if piece]


def load_settings(env_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Read settings; raise `SettingsError` with one printable line per invalid variable.

    `env_file` falls back to `$ARBITRAGE_ENV_FILE`; `./.env` is always read first when present.
    """
    if env_file is None and os.environ.get(ENV_FILE_VARIABLE):
        env_file = os.environ[ENV_FILE_VARIABLE]
    env_files: list[Path] = [Path(".env")]
    if env_file is not None:
        path = Path(env_file)
        if not path.is_file():
            raise SettingsError([f"env file not found: {path}"])
        env_files.append(path)
    unknown = [line for path in env_files for line in _unknown_names_in(path)]
    if unknown:
        raise SettingsError(unknown)
    try:
        return Settings(_env_file=tuple(env_files), **overrides)  # type: ignore[call-arg]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    except PydanticSettingsError as error:  # a nested value that is not valid JSON; the message has no value
        field = re.search(r'field "(\w+)"', str(error))
        variable = ENV_PREFIX + (field.group(1).upper() if field else "")
        raise SettingsError([f"invalid setting {variable}: not valid JSON"]) from None


def _unknown_names_in(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = []
    for name in dotenv_values(path):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper != ENV_FILE_VARIABLE and not _is_known_name(upper):
            lines.append(f"invalid setting {upper} (in {path}): unknown setting")
    return lines


def _is_known_name(variable: str) -> bool:
    parts = variable[len(ENV_PREFIX) :].lower().split("__")
    if parts[0] == "exchanges":
        # the exchange id itself is checked (with a better message) by the validator
        return len(parts) == 3 and parts[2] in ExchangeSettings.model_fields
    if parts[0] == "auto":
        return len(parts) == 2 and parts[1] in AutoSettings.model_fields
    return len(parts) == 1 and parts[0] in Settings.model_fields


def _describe(error: ValidationError) -> list[str]:
    lines: list[str] = []
    for detail in error.errors(include_input=False, include_url=False):
        location = [str(part) for part in detail["loc"]]
        message = detail["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if detail["type"] == "extra_forbidden":
            message = "unknown setting"
        variable = ENV_PREFIX + "__".join(part.upper() for part in location)
        lines.append(f"invalid setting {variable}: {message}")
    return lines or ["invalid settings"]
