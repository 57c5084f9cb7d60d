"""A subscription auto-subscribe created and the user cancelled is not created again by a later scan of the same
instant (the run at a daemon's start, after a restart or a standby takeover): every row of the instant keeps its
pair taken; rows that may hold exposure (in progress, NEEDS_ATTENTION) also count against the caps. (Found by
review.)"""

from __future__ import annotations

from test_scanner import BTC, connectors, scenario, settings_for, sim  # noqa: F401 (fixtures)

from arbitrage.db import repository as repo
from arbitrage.db.models import AutoOutcome
from arbitrage.db.session import Database
from arbitrage.services.auto_subscribe import AutoSubscriber
from arbitrage.services.cancellation import cancel_subscription
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.scanner import scan_opportunities

AUTO = {"enabled": True, "scan_ahead_seconds": 3600, "min_net_bps": "2", "notional_usdt": "1000"}


async def test_a_cancelled_auto_subscription_is_not_created_again(sim, connectors, migrated_database_url) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(sim, migrated_database_url, auto=AUTO)
    db = Database(migrated_database_url)
    try:
        catalog = CachedMarketCatalog(db, connectors)
        await catalog.refresh()
        first = await AutoSubscriber(db, connectors, catalog, settings, scan_opportunities).run()
        [created] = [r for r in first if r.outcome is AutoOutcome.CREATED]
        async with db.unit_of_work() as session:
            await cancel_subscription(session, created.subscription_id)  # the user: "not this one"
        # the daemon restarts inside the scan window: its run at start scans the same instant again
        second = await AutoSubscriber(db, connectors, catalog, settings, scan_opportunities).run()
        async with db.unit_of_work() as session:
            rows = list(await repo.list_subscriptions(session))
        print("\nrows after the second scan:", [(r.id, r.primary_exchange, r.primary_symbol, str(r.side),
                                                  r.funding_time.isoformat(), str(r.status)) for r in rows])
        again = [r for r in second if r.outcome is AutoOutcome.CREATED]
        assert again == [], "the cancelled subscription was created again"
    finally:
        await db.dispose()
