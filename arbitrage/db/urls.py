"""Database URLs: what users write (`sqlite:///path.db`, `postgresql://…`, `postgres://…`) and the async driver
each backend is reached with (aiosqlite, asyncpg)."""

from __future__ import annotations

from typing import Literal

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SCHEME_ALIASES = {
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+asyncpg": "postgresql",
}


def database_backend(url: str) -> Literal["sqlite", "postgresql"]:
    """`sqlite` or `postgresql` for an accepted URL; ValueError (without echoing the URL) otherwise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    backend = _SCHEME_ALIASES.get(scheme)
    if backend is None:
        raise ValueError("must be a sqlite:///PATH or postgresql://USER@HOST:PORT/DBNAME URL")
    return backend  # type: ignore[return-value]


def async_database_url(url: str) -> str:
    """The URL the application (and the async alembic env.py) connects with: aiosqlite or asyncpg driver."""
    backend = database_backend(url)
    rest = url.split("://", 1)[1]
    return f"{_ASYNC_DRIVERS[backend]}://{rest}"

