"""The STATUS= line: counts of what the daemon drives and the next funding instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arbitrage.domain.status import Status
from arbitrage.ops.service_status import summary_line

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
AT_8 = NOW + timedelta(hours=1)
AT_16 = NOW + timedelta(hours=9)
PAST = NOW - timedelta(seconds=5)


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        ([], "0 scheduled"),
        ([(Status.SCHEDULED, AT_16), (Status.SCHEDULED, AT_8)], "2 scheduled, next funding 2026-12-02 08:00:00 UTC"),
        ([(Status.SCHEDULED, AT_16), (Status.OPEN, AT_8)],
         "1 scheduled, 1 in progress, next funding 2026-12-02 08:00:00 UTC"),
        # past its funding time, waiting for the payment or closing: counted, but not "next"
        ([(Status.CLOSING, PAST)], "0 scheduled, 1 in progress"),
        ([(Status.SCHEDULED, AT_16), (Status.NEEDS_ATTENTION, AT_8)],
         "1 scheduled, 1 needs attention, next funding 2026-12-02 16:00:00 UTC"),
    ],
)
def test_summary_line(rows, line):
    assert summary_line(rows, NOW) == line
