"""BASE_URL override: point every ccxt API URL of one exchange at another scheme+host, keeping the path."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

# ccxt fills `{hostname}` only when signing; any host works here because only the path is kept.
_PLACEHOLDER_HOST = "placeholder.invalid"


def override_api_urls(api: Any, base: str) -> Any:
    """Every leaf URL of ccxt's `urls['api']` (nested dicts included) → `base` + the leaf's path.

    `base` may carry a path prefix: `http://127.0.0.1:8080/bybit` + `/v5/order/create`.
    """
    if isinstance(api, dict):
        return {key: override_api_urls(value, base) for key, value in api.items()}
    if not isinstance(api, str):
        return api
    path = urlsplit(api.replace("{hostname}", _PLACEHOLDER_HOST)).path
    return base.rstrip("/") + path


def original_url_prefixes(original: Any, overridden: Any) -> list[tuple[str, str]]:
    """(overridden leaf, original leaf) pairs, longest overridden first, to map a request URL back to the
    production URL it stands for (used where ccxt classifies errors by the URL's host)."""
    pairs: list[tuple[str, str]] = []

    def walk(before: Any, after: Any) -> None:
        if isinstance(before, dict) and isinstance(after, dict):
            for key, value in before.items():
                walk(value, after.get(key))
        elif isinstance(before, str) and isinstance(after, str):
            pairs.append((after, before))

    walk(original, overridden)
    return sorted(set(pairs), key=lambda pair: len(pair[0]), reverse=True)


def to_original_url(url: str, prefixes: list[tuple[str, str]]) -> str:
    for overridden, original in prefixes:
        if url.startswith(overridden):
            return original + url[len(overridden) :]
    return url
