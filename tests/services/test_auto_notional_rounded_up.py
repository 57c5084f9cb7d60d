"""Auto-subscribe never subscribes more than ARBITRAGE_AUTO__NOTIONAL_USDT (5 % for rounding): when one amount step
is worth more, the candidate is rejected with the reason. (Found by review: the scan's amount, rounded up to one
step, was subscribed as it came.)"""

from __future__ import annotations

from decimal import Decimal as D

from test_scanner import connectors, scenario, settings_for, sim  # noqa: F401 (fixtures)

from arbitrage.db import repository as repo
from arbitrage.db.models import AutoOutcome
from arbitrage.db.session import Database
from arbitrage.services.auto_subscribe import AutoSubscriber
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.scanner import scan_opportunities

NOTIONAL = D("10")
AUTO = {"enabled": True, "scan_ahead_seconds": 3600, "min_net_bps": "2", "notional_usdt": str(NOTIONAL),
        "max_notional_per_exchange": "100000"}


async def test_subscribed_notional_stays_within_the_configured_one(sim, connectors, migrated_database_url) -> None:  # type: ignore[no-untyped-def]
    from test_scanner import BTC
    sim.engine.update_instrument("binanceusdm", BTC, min_notional="5")  # both minimums below one step (50 USDT)
    settings = settings_for(sim, migrated_database_url, auto=AUTO)
    db = Database(migrated_database_url)
    try:
        catalog = CachedMarketCatalog(db, connectors)
        await catalog.refresh()
        records = await AutoSubscriber(db, connectors, catalog, settings, scan_opportunities).run()
        async with db.unit_of_work() as session:
            rows = list(await repo.list_subscriptions(session))
        assert rows == [], "nothing above the configured notional"
        assert records and all(r.outcome is AutoOutcome.REJECTED for r in records)
        assert any("smallest amount the exchanges take is worth" in reason for r in records for reason in r.reasons)
    finally:
        await db.dispose()
