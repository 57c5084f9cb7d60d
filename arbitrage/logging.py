"""Logging, configured once per process: structlog for our code, stdlib loggers routed through the same renderer.

Output is JSON lines (machines) or a console renderer (humans). Every line passes the redactor, which hides
credentials by key name (`api_key`, `X-MBX-APIKEY`, ...), by `name=value` patterns inside strings (URLs with
`signature=...`), and by value: the configured secrets are registered and replaced wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import IO, Any, Literal

import structlog
from structlog.types import EventDict, Processor

REDACTED = "***"
# Shorter values would redact ordinary words and numbers all over the log; real credentials are much longer.
MIN_REGISTERED_SECRET_LENGTH = 6

# Compared after lower-casing and removing `-` and `_`.
_SENSITIVE_KEYS = frozenset(
    {
        "apikey",
        "secret",
        "secretkey",
        "apisecret",
        "password",
        "passphrase",
        "signature",
        "sign",
        "xmbxapikey",
        "xbapiapikey",
        "xbapisign",
        "xbxapikey",
        "accesskey",
        "authorization",
        "privatekey",
        "token",
    }
)
_SENSITIVE_SUFFIXES = ("apikey", "secret", "signature", "password", "passphrase")

_SENSITIVE_NAMES_PATTERN = (
    r"x-mbx-apikey|x-bapi-api-key|x-bapi-sign|x-bx-apikey|api[_-]?key|api[_-]?secret|secret[_-]?key"
    r"|secret|password|passphrase|signature|sign|access[_-]?key"
)
# `signature=abc` in URLs and bodies, `'X-MBX-APIKEY': 'abc'` in dumped dicts, `"sign":"abc"` in JSON. After a
# colon only a quoted or adjacent value counts: in `...__API_KEY: unknown setting` the words are not a value.
_SENSITIVE_PAIR = re.compile(
    rf"(?i)(?<![A-Za-z0-9])({_SENSITIVE_NAMES_PATTERN})"
    r"(['\"]?\s*=\s*['\"]?|['\"]?\s*:\s*['\"]|['\"]?:)"
    r"([^&\s'\",}]+)"
)

# Library loggers that are too chatty at INFO (SQLAlchemy would log every statement).
_QUIET_LIBRARIES = {
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,
    "asyncio": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "apscheduler": logging.WARNING,
}
# SQLAlchemy at DEBUG dumps result rows; aiosqlite logs every single operation.
_QUIET_EVEN_AT_DEBUG = {"sqlalchemy": logging.WARNING, "aiosqlite": logging.WARNING}
_QUIET_LIBRARIES.update(_QUIET_EVEN_AT_DEBUG)
_LIBRARIES = ("ccxt", "apscheduler", "sqlalchemy", "alembic", "aiohttp", "asyncio", "aiosqlite", "asyncpg")

_HANDLER_NAME = "arbitrage"
_registered_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Make the redactor replace these values wherever they occur in any logged string."""
    for value in values:
        if value and len(value) >= MIN_REGISTERED_SECRET_LENGTH:
            _registered_secrets.add(value)


def clear_registered_secrets() -> None:
    _registered_secrets.clear()


def _is_sensitive_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    normalized = key.lower().replace("-", "").replace("_", "")
    return normalized in _SENSITIVE_KEYS or normalized.endswith(_SENSITIVE_SUFFIXES)


def redact_text(text: str) -> str:
    # Longest first, so a secret that contains another registered one is replaced whole.
    for secret in sorted(_registered_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SENSITIVE_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping | dict):
        return {k: REDACTED if _is_sensitive_key(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return redact_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Exceptions, URLs, SecretStr, arbitrary objects: redact their text form.
    return redact_text(str(value))


def redact_processor(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    return {key: REDACTED if _is_sensitive_key(key) else redact_value(value) for key, value in event_dict.items()}


def _timestamper() -> Processor:
    return structlog.processors.TimeStamper(fmt="iso", utc=True)


def configure_logging(
    format: Literal["json", "console"] = "json", level: str | int = "INFO", stream: IO[str] | None = None
) -> None:
    """(Re)configure structlog and the stdlib root logger. Logs go to `stream` (stderr by default) so that
    command output on stdout (e.g. `--json`) stays machine-readable."""
    numeric_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}")

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _timestamper(),
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if format == "console"
        else structlog.processors.JSONRenderer(default=str)
    )
    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,  # tracebacks become strings, which the redactor then sees
        redact_processor,
        renderer,
    ]

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=final,
    )
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter)
    handler.set_name(_HANDLER_NAME)

    root = logging.getLogger()
    _remove_our_handler(root)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _LIBRARIES:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        quiet = _QUIET_LIBRARIES.get(name, logging.NOTSET)
        if numeric_level <= logging.DEBUG and name not in _QUIET_EVEN_AT_DEBUG:
            quiet = logging.NOTSET
        library.setLevel(max(quiet, numeric_level))

    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def reset_logging() -> None:
    """Undo configure_logging (for tests): our handler removed, root back at WARNING, structlog defaults."""
    root = logging.getLogger()
    _remove_our_handler(root)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


def _remove_our_handler(root: logging.Logger) -> None:
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (test harnesses and tools replace it)."""

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def get_logger(name: str | None = None, **initial_values: Any) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name, **initial_values)


@contextmanager
def bind_subscription(subscription_id: int) -> Iterator[None]:
    """Every log line inside this block (this task and the tasks it creates) carries `subscription_id`."""
    with structlog.contextvars.bound_contextvars(subscription_id=subscription_id):
        yield


def subscription_logger(subscription_id: int, name: str | None = None) -> structlog.stdlib.BoundLogger:
    return get_logger(name, subscription_id=subscription_id)
