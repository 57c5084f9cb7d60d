"""Auto-subscribe (ARBITRAGE_AUTO__ENABLED): before each funding instant, scan, apply the rules and create the
subscriptions they allow.

A created subscription is an ordinary row: it passes the same review as `arbitrage subscribe` (markets, amount,
leverage, funding instant, rates, duplicates), is stored with `created_by = 'auto'` and the estimate that justified
it, and the pipeline trades it like any other. Every decision is a row of `auto_decisions` (CREATED, REJECTED by
the rules with every reason, or REFUSED by the review) and a log line; a created one also gets an `auto_subscribed`
event. A candidate is judged against what exists at that moment (live rows of the instant plus the ones just
created), so a cap is never exceeded, even when the review refuses a better candidate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Context, Decimal
from typing import Any

from arbitrage.db import auto_decisions
from arbitrage.db import repository as repo
from arbitrage.db.models import AutoOutcome, CreatedBy, Subscription
from arbitrage.db.session import Database
from arbitrage.domain.auto_rules import AutoBook, AutoRules, LiveSubscription
from arbitrage.domain.opportunity import Opportunity
from arbitrage.domain.status import IN_PROGRESS, Status
from arbitrage.domain.subscription_request import InputError, NewSubscription, check_timing
from arbitrage.exchanges.connector import ConnectorRegistry, ExchangeError
from arbitrage.logging import get_logger
from arbitrage.services.clock import utcnow
from arbitrage.services.subscription_review import review_subscription, store_reviewed
from arbitrage.services.subscription_trader_checks import CredentialsRejected
from arbitrage.settings import AutoSettings, Settings

log = get_logger(__name__)

# A subscription may come out this much above ARBITRAGE_AUTO__NOTIONAL_USDT once rounded to an exchange's step.
NOTIONAL_TOLERANCE = Decimal("1.05")

# The scanner's entry point, `arbitrage.services.scanner.scan_opportunities(connectors, markets, settings, *,
# notional_usdt, exchanges=None)`: opportunities sorted by expected net, best first, blocked ones included.
OpportunitySource = Callable[..., Awaitable[list[Opportunity]]]
AMOUNT_QUANTUM = Decimal("1e-18")  # the database's scale; the review rounds down to the exchanges' step anyway
_WIDE = Context(prec=40)  # 18 decimals on any amount up to 10^21


@dataclass(frozen=True)
class AutoDecisionRecord:
    opportunity: Opportunity
    outcome: AutoOutcome
    reasons: tuple[str, ...] = ()
    subscription_id: int | None = None


def rules_from_settings(auto: AutoSettings) -> AutoRules:
    return AutoRules(
        min_net_bps=auto.min_net_bps, notional_usdt=auto.notional_usdt, max_per_instant=auto.max_per_instant,
        max_per_exchange=auto.max_per_exchange, max_per_symbol=auto.max_per_symbol,
        max_notional_per_exchange=auto.max_notional_per_exchange, exchanges=frozenset(auto.exchanges),
        symbols=frozenset(auto.symbols),
    )


class AutoSubscriber:
    def __init__(
        self, db: Database, connectors: ConnectorRegistry, markets: object, settings: Settings,
        source: OpportunitySource, clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._connectors = connectors
        self._markets = markets  # handed to the source as it is (the daemon's CachedMarketCatalog)
        self._settings = settings
        self._source = source
        self._clock = clock
        self.rules = rules_from_settings(settings.auto)
        self._running = asyncio.Lock()  # the run at start and the hourly one never overlap: caps read the rows

    async def run(self) -> list[AutoDecisionRecord]:
        """The job: one scan, then a decision for every opportunity whose instant is within
        ARBITRAGE_AUTO__SCAN_AHEAD_SECONDS. A failure is logged; the next run scans again."""
        try:
            async with self._running:
                return await self._run()
        except Exception as error:  # a scheduler job must not die: the next instant gets its own scan
            log.error("auto_scan_failed", error=str(error))
            return []

    async def _run(self) -> list[AutoDecisionRecord]:
        now = self._clock()
        until = now + timedelta(seconds=self._settings.auto.scan_ahead_seconds)
        exchanges = sorted(self.rules.exchanges) or None
        found = await self._source(self._connectors, self._markets, self._settings,
                                   notional_usdt=self.rules.notional_usdt, exchanges=exchanges)
        due = [o for o in found if now < o.funding_time <= until]
        log.info("auto_scan", opportunities=len(found), due=len(due), until=until.isoformat())
        if not due:
            return []
        book = AutoBook(self.rules, await self._live({o.funding_time for o in due}))
        records = []
        for opportunity in due:
            reasons = book.reasons(opportunity) + self._oversized(opportunity)
            if reasons:
                record = AutoDecisionRecord(opportunity, AutoOutcome.REJECTED, reasons)
                await self._record(record)
            else:
                record = await self._create(opportunity)
                if record.outcome is AutoOutcome.CREATED:
                    book.take(opportunity)
            records.append(record)
        return records

    def _oversized(self, opportunity: Opportunity) -> tuple[str, ...]:
        """The scan rounds an amount up to one exchange step: refuse one worth more than the notional allows."""
        if opportunity.notional_usdt <= self.rules.notional_usdt * NOTIONAL_TOLERANCE:
            return ()
        return (f"the smallest amount the exchanges take is worth {opportunity.notional_usdt.normalize():f} USDT, "
                f"above ARBITRAGE_AUTO__NOTIONAL_USDT={self.rules.notional_usdt.normalize():f}",)

    async def _live(self, instants: set[datetime]) -> list[LiveSubscription]:
        async with self._db.unit_of_work() as session:
            rows = [s for s in await repo.list_subscriptions(session) if s.funding_time in instants]
        # NEEDS_ATTENTION may hold exposure: it counts like a row in progress
        holding = [row for row in rows if row.status in IN_PROGRESS or row.status is Status.NEEDS_ATTENTION]
        ended = [row for row in rows if row not in holding]
        return [LiveSubscription(row.primary_symbol, row.primary_exchange, row.hedge_exchange, row.funding_time,
                                 await self._notional(row)) for row in holding] + [
            LiveSubscription(row.primary_symbol, row.primary_exchange, row.hedge_exchange, row.funding_time,
                             Decimal(0), holds=False) for row in ended]

    async def _notional(self, row: Subscription) -> Decimal:
        """The estimate's notional for an auto row; else the amount at the current mark price."""
        if row.estimate_notional is not None:
            return row.estimate_notional
        return row.amount * await self._price(row.primary_exchange, row.hedge_exchange, row.primary_symbol)

    async def _price(self, primary: str, hedge: str, symbol: str) -> Decimal:
        for exchange in (primary, hedge):
            price = (await self._connectors.get(exchange).fetch_funding_rate(symbol)).mark_price
            if price:
                return price
        raise ExchangeError(primary, "fetch_funding_rate", f"no mark price for {symbol} on {primary} or {hedge}")

    async def _create(self, opportunity: Opportunity) -> AutoDecisionRecord:
        """Subscribe's review, then the row, its event and the decision in one transaction."""
        settings, now = self._settings, self._clock()
        lead_seconds = max(settings.lead_seconds, settings.min_lead_seconds(opportunity.primary))
        try:
            check_timing(opportunity.funding_time, lead_seconds, now)
            price = await self._price(opportunity.primary, opportunity.hedge, opportunity.symbol)
            request = NewSubscription(
                primary_exchange=opportunity.primary, primary_symbol=opportunity.symbol,
                hedge_exchange=opportunity.hedge, hedge_symbol=opportunity.symbol, side=opportunity.side,
                amount=(opportunity.notional_usdt / price).quantize(AMOUNT_QUANTUM, context=_WIDE), leverage=None,
                funding_time=opportunity.funding_time, lead_seconds=lead_seconds,
            )
            review = await review_subscription(
                self._db, self._connectors, request, default_leverage=settings.default_leverage, now=now,
                symbol_options=("--symbol", "--symbol"), force=False,
            )
        except InputError as error:
            return await self._record(AutoDecisionRecord(opportunity, AutoOutcome.REFUSED, (error.problem,)))
        except (CredentialsRejected, ExchangeError) as error:
            reason = error.user_message if isinstance(error, ExchangeError) else str(error)
            return await self._record(AutoDecisionRecord(opportunity, AutoOutcome.REFUSED, (reason,)))
        estimate = at_notional(opportunity, review.request.amount * price)
        async with self._db.unit_of_work() as session:
            subscription = await store_reviewed(session, review, now, created_by=CreatedBy.AUTO, estimate=estimate)
            await repo.add_event(session, subscription.id, "auto_subscribed", message=_describe(opportunity),
                                 details=_estimate_details(estimate, review.notes, review.warnings))
            record = AutoDecisionRecord(opportunity, AutoOutcome.CREATED, subscription_id=subscription.id)
            await self._record(record, session)
        return record

    async def _record(self, record: AutoDecisionRecord, session: Any = None) -> AutoDecisionRecord:
        opportunity = record.opportunity
        if session is None:
            async with self._db.unit_of_work() as own:
                return await self._record(record, own)
        await auto_decisions.add_decision(session, opportunity, record.outcome, at=self._clock(),
                                          reasons=record.reasons, subscription_id=record.subscription_id)
        fields = {"symbol": opportunity.symbol, "primary": opportunity.primary, "hedge": opportunity.hedge,
                  "side": str(opportunity.side), "funding_time": opportunity.funding_time.isoformat(),
                  "expected_net": str(opportunity.net_usdt), "net_bps": str(opportunity.net_bps.quantize(
                      Decimal("0.01")))}
        if record.outcome is AutoOutcome.CREATED:
            log.info("auto_subscription_created", subscription_id=record.subscription_id, **fields)
        else:
            log.info("auto_subscription_not_created", outcome=str(record.outcome), reasons=list(record.reasons),
                     **fields)
        return record


def at_notional(opportunity: Opportunity, notional: Decimal) -> Opportunity:
    """The estimate for the notional actually subscribed (the amount is rounded down to the exchanges' step):
    funding, fees and spread scale with it, the net in bps does not. Stored this way, the estimate error says how
    far rates, fees and fills moved, not how the amount was rounded."""
    if notional == opportunity.notional_usdt or not opportunity.notional_usdt:
        return opportunity
    scale = notional / opportunity.notional_usdt
    return replace(opportunity, notional_usdt=notional, funding_usdt=opportunity.funding_usdt * scale,
                   fees_usdt=opportunity.fees_usdt * scale, spread_usdt=opportunity.spread_usdt * scale)


def _describe(opportunity: Opportunity) -> str:
    return (f"expected net {opportunity.net_usdt.normalize():f} USDT "
            f"({opportunity.net_bps.quantize(Decimal('0.01')).normalize():f} bps) on "
            f"{opportunity.notional_usdt.normalize():f} USDT")


def _estimate_details(opportunity: Opportunity, notes: Sequence[str], warnings: Sequence[str]) -> dict[str, Any]:
    return {
        "notional": str(opportunity.notional_usdt), "funding": str(opportunity.funding_usdt),
        "fees": str(opportunity.fees_usdt), "spread": str(opportunity.spread_usdt), "net": str(opportunity.net_usdt),
        "primary_rate": str(opportunity.primary_rate),
        "hedge_rate": None if opportunity.hedge_rate is None else str(opportunity.hedge_rate),
        "notes": list(notes), "warnings": list(warnings),
    }
