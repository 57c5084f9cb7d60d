"""The venue table is the one place exchange facts live: every row has its connector, and the readers agree."""

from __future__ import annotations

from arbitrage.domain import EXCHANGE_IDS, normalize_exchange_id
from arbitrage.domain.funding import FUNDING_AMOUNT_SIGN
from arbitrage.domain.leverage import DEFAULT_MAX_LEVERAGE
from arbitrage.domain.venues import VENUES
from arbitrage.exchanges.factory import CONNECTOR_CLASSES
from arbitrage.settings import load_settings


def test_every_venue_has_a_connector_and_nothing_else_does() -> None:
    assert set(CONNECTOR_CLASSES) == set(EXCHANGE_IDS) == set(VENUES)
    for exchange_id, connector in CONNECTOR_CLASSES.items():
        assert connector.exchange_id == exchange_id


def test_the_readers_take_their_facts_from_the_table() -> None:
    settings = load_settings(None)
    for venue in VENUES.values():
        assert FUNDING_AMOUNT_SIGN[venue.id] == venue.funding_amount_sign
        assert DEFAULT_MAX_LEVERAGE[venue.id] == venue.default_max_leverage
        assert settings.min_lead_seconds(venue.id) == venue.min_lead_seconds
        assert all(normalize_exchange_id(alias) == venue.id for alias in venue.aliases)
        assert venue.order_limits and venue.request_limits, f"{venue.id}: documented limits missing"
    assert VENUES["bingx"].min_lead_seconds == 30  # BingX ignores positions opened in its last 30 s
