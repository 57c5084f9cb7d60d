"""Log of every request the simulator received (signatures and keys redacted), queryable from Python and admin."""

from __future__ import annotations

import fnmatch
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

REDACTED = "<redacted>"
_SECRET_PARAM_NAMES = {"signature", "sign", "apikey", "api_key", "secret", "password", "passphrase", "accesskey"}


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: REDACTED if key.lower().replace("-", "_") in _SECRET_PARAM_NAMES else value for key, value in params.items()
    }


@dataclass
class RequestRecord:
    seq: int
    received_ns: int
    exchange: str
    method: str
    path: str
    params: dict[str, Any]
    status: int | None = None
    outcome: str = "pending"  # ok | error | rate_limited | fault:<kind> | dropped | pending
    error_kind: str | None = None
    error_message: str | None = None
    fault_id: int | None = None
    duration_ms: float | None = None
    timestamp_ms: int | None = None  # a signed request's timestamp and receive window, as the exchange read them
    recv_window_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, max_records: int = 20000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=max_records)
        self._seq = 0

    def start(self, received_ns: int, exchange: str, method: str, path: str, params: dict[str, Any]) -> RequestRecord:
        self._seq += 1
        record = RequestRecord(self._seq, received_ns, exchange, method, path, redact_params(params))
        self._records.append(record)
        return record

    def query(
        self,
        exchange: str | None = None,
        path: str | None = None,
        since_ns: int | None = None,
        method: str | None = None,
        outcome: str | None = None,
    ) -> list[RequestRecord]:
        """Filter records; ``path`` is a glob (``/fapi/v1/*``) or an exact path."""
        result = []
        for record in self._records:
            if exchange is not None and record.exchange != exchange:
                continue
            if method is not None and record.method != method.upper():
                continue
            if path is not None and not (record.path == path or fnmatch.fnmatchcase(record.path, path)):
                continue
            if since_ns is not None and record.received_ns < since_ns:
                continue
            if outcome is not None and record.outcome != outcome:
                continue
            result.append(record)
        return result

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
