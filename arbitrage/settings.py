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
from typing import Any, Literal
from urllib.parse import urlsplit

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
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from arbitrage.domain import EXCHANGE_ALIASES, EXCHANGE_IDS
from arbitrage.db.urls import async_database_url, database_backend
from arbitrage.domain.venues import VENUES

ENV_PREFIX = "ARBITRAGE_"
ENV_FILE_VARIABLE = "ARBITRAGE_ENV_FILE"
DEFAULT_DATABASE_URL = "sqlite:///arbitrage.db"

DEFAULT_MIN_LEAD_SECONDS: dict[str, int] = {venue.id: venue.min_lead_seconds for venue in VENUES.values()}
DEFAULT_ORDER_RECV_WINDOW_MS = 3000


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

    @field_validator("api_key", "secret", "password", "base_url", "min_lead_seconds", mode="before")
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

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        database_backend(value)
        return value

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

    def secret_values(self) -> list[str]:
        """Every configured credential, for the log redactor."""
        return [value for config in self.exchanges.values() for value in config.secret_values()]

    def resolved_log_format(self, stream: Any = None) -> Literal["json", "console"]:
        if self.log_format is not None:
            return self.log_format
        stream = stream if stream is not None else sys.stderr
        return "console" if getattr(stream, "isatty", lambda: False)() else "json"

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)


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
