"""Auto-subscribe never subscribes a candidate whose order books were not read (an error, or beyond
ARBITRAGE_SCAN_MAX_ORDER_BOOKS): its spread is unknown, so its net is a guess. (Found by review: such a row, on a book
too thin for the amount, was subscribed.)"""

from __future__ import annotations


from test_scanner import BTC, connectors, scenario, settings_for, sim  # noqa: F401 (fixtures)

from arbitrage.db import repository as repo
from arbitrage.db.models import AutoOutcome
from arbitrage.db.session import Database
from arbitrage.services.auto_subscribe import AutoSubscriber
from arbitrage.services.markets import CachedMarketCatalog
from arbitrage.services.scanner import scan_opportunities

AUTO = {"enabled": True, "scan_ahead_seconds": 3600, "min_net_bps": "2", "notional_usdt": "1000"}


async def _auto_run(sim, connectors, url):  # type: ignore[no-untyped-def]
    settings = settings_for(sim, url, auto=AUTO)
    db = Database(url)
    try:
        catalog = CachedMarketCatalog(db, connectors)
        await catalog.refresh()
        records = await AutoSubscriber(db, connectors, catalog, settings, scan_opportunities).run()
        async with db.unit_of_work() as session:
            rows = list(await repo.list_subscriptions(session))
        return records, rows
    finally:
        await db.dispose()


async def test_thin_book_is_blocked_when_read(sim, connectors, migrated_database_url) -> None:  # type: ignore[no-untyped-def]
    sim.engine.update_instrument("bybit", BTC, book_level_qty="0.0001")  # 20 levels hold 0.002 BTC < 0.02
    records, rows = await _auto_run(sim, connectors, migrated_database_url)
    btc = [r for r in records if r.opportunity.symbol == BTC and r.opportunity.primary == "bybit"]
    print("\nbook read:", [(r.outcome, r.reasons) for r in btc], "rows:", len(rows))
    assert rows == []


async def test_thin_book_is_subscribed_when_unreadable(sim, connectors, migrated_database_url) -> None:  # type: ignore[no-untyped-def]
    sim.engine.update_instrument("bybit", BTC, book_level_qty="0.0001")
    sim.faults.add(action="http_5xx", exchange="bybit", path="/v5/market/orderbook", times=None)
    records, rows = await _auto_run(sim, connectors, migrated_database_url)
    created = [r for r in records if r.outcome is AutoOutcome.CREATED]
    print("\nbook unreadable: created", [(r.opportunity.symbol, r.opportunity.primary, r.opportunity.spread_known,
                                          str(r.opportunity.spread_usdt)) for r in created],
          "rows:", [(row.id, row.primary_exchange, str(row.amount), str(row.estimate_net)) for row in rows])
    assert rows == [], "auto-subscribed a row whose order book was never read (spread unknown)"
