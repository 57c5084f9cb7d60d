"""Auto-subscribe rules: every cap, in a table, with the exact reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from arbitrage.domain import Side
from arbitrage.domain.auto_rules import AutoRules, LiveSubscription, decide
from arbitrage.domain.opportunity import Opportunity

T8 = datetime(2026, 12, 2, 8, tzinfo=UTC)
T9 = datetime(2026, 12, 2, 9, tzinfo=UTC)
BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"

RULES = AutoRules(
    min_net_bps=Decimal(5), notional_usdt=Decimal(1000), max_per_instant=3, max_per_exchange=2, max_per_symbol=1,
    max_notional_per_exchange=Decimal(2500),
)


def opportunity(symbol: str = BTC, primary: str = "bybit", hedge: str = "binanceusdm", *, net: str = "1.0",
                funding_time: datetime = T8, notional: str = "1000", blocked: str | None = None) -> Opportunity:
    """`net` USDT expected (funding − 0.4 fees − 0.1 spread)."""
    return Opportunity(
        symbol=symbol, primary=primary, hedge=hedge, side=Side.SHORT, funding_time=funding_time,
        notional_usdt=Decimal(notional), primary_rate=Decimal("0.001"), hedge_rate=None, primary_interval_hours=8,
        hedge_interval_hours=8, funding_usdt=Decimal(net) + Decimal("0.5"), fees_usdt=Decimal("0.4"),
        spread_usdt=Decimal("0.1"), blocked_reason=blocked,
    )


def live(symbol: str = BTC, primary: str = "bybit", hedge: str = "binanceusdm", *, funding_time: datetime = T8,
         notional: str = "1000") -> LiveSubscription:
    return LiveSubscription(symbol, primary, hedge, funding_time, Decimal(notional))


CASES = [
    # (name, opportunities, live, rules, expected reasons per opportunity)
    ("accepted", [opportunity()], [], RULES, [()]),
    ("below the minimum net", [opportunity(net="0.49")], [], RULES,
     [("expected net 4.9 bps is below the minimum 5 bps",)]),
    ("exactly the minimum net", [opportunity(net="0.5")], [], RULES, [()]),
    ("blocked by a market rule", [opportunity(blocked="below bingx minimum notional 5 USDT")], [], RULES,
     [("blocked: below bingx minimum notional 5 USDT",)]),
    ("exchange not allowed", [opportunity(primary="mexc", hedge="bingx")], [],
     replace(RULES, exchanges=frozenset({"bybit", "bingx"})), [("exchange not allowed: mexc",)]),
    ("symbol not allowed", [opportunity(symbol=ETH)], [], replace(RULES, symbols=frozenset({BTC})),
     [(f"symbol not allowed: {ETH}",)]),
    ("already subscribed, the other way round", [opportunity(primary="binanceusdm", hedge="bybit")], [live()],
     replace(RULES, max_per_symbol=5),
     [(f"already subscribed: {BTC} on binanceusdm and bybit at this instant",)]),
    ("max per instant, counting live rows", [opportunity(ETH, "bingx", "mexc")],
     [live(BTC), live(SOL, "bingx", "mexc")], replace(RULES, max_per_instant=2),
     [("max 2 subscriptions per instant reached",)]),
    ("max per instant, counting accepted candidates",
     [opportunity(BTC, net="3"), opportunity(ETH, "bingx", "mexc", net="2"), opportunity(SOL, "mexc", "bybit")],
     [], replace(RULES, max_per_instant=2, max_per_exchange=5),
     [(), (), ("max 2 subscriptions per instant reached",)]),
    ("max per exchange, primary or hedge", [opportunity(SOL, "mexc", "bybit")],
     [live(BTC, "bybit", "bingx"), live(ETH, "binanceusdm", "bybit")],
     replace(RULES, max_notional_per_exchange=Decimal(9000)),
     [("max 2 subscriptions per instant on bybit reached",)]),
    ("max per exchange, both legs", [opportunity(SOL, "mexc", "bybit")],
     [live(BTC, "bybit", "mexc"), live(ETH, "mexc", "bybit")], replace(RULES, max_notional_per_exchange=Decimal(9000)),
     [("max 2 subscriptions per instant on mexc reached", "max 2 subscriptions per instant on bybit reached")]),
    ("max per symbol", [opportunity(BTC, "mexc", "bingx")], [live(BTC)], RULES,
     [(f"max 1 subscriptions per instant on {BTC} reached",)]),
    ("max notional per exchange", [opportunity(ETH, "bybit", "mexc", notional="1600")],
     [live(BTC, "bybit", "bingx")], RULES,
     [("notional on bybit would be 2600 USDT, above the maximum 2500 USDT",)]),
    ("notional exactly at the maximum", [opportunity(ETH, "bybit", "mexc", notional="1500")],
     [live(BTC, "bybit", "bingx")], RULES, [()]),
    ("a full instant", [opportunity(BTC)],
     [live(BTC), live(ETH, "bybit", "mexc"), live(SOL, "bingx", "binanceusdm")], replace(RULES, max_per_instant=1),
     [(f"already subscribed: {BTC} on binanceusdm and bybit at this instant",
       "max 1 subscriptions per instant reached", "max 2 subscriptions per instant on bybit reached",
       "max 2 subscriptions per instant on binanceusdm reached", f"max 1 subscriptions per instant on {BTC} reached",
       "notional on bybit would be 3000 USDT, above the maximum 2500 USDT",
       "notional on binanceusdm would be 3000 USDT, above the maximum 2500 USDT")]),
    ("the next instant has room", [opportunity(BTC, funding_time=T9)],
     [live(BTC), live(ETH, "bybit", "mexc"), live(SOL, "bingx", "binanceusdm")], replace(RULES, max_per_instant=1),
     [()]),
    ("a rejected candidate takes no room", [opportunity(BTC, net="0.1"), opportunity(BTC, "mexc", "bingx")], [],
     RULES, [("expected net 1 bps is below the minimum 5 bps",), ()]),
    ("every broken rule at once",
     [opportunity(ETH, "mexc", "bybit", net="-2", notional="2000", blocked="ETH not listed on mexc")],
     [live(ETH, "bybit", "bingx", notional="1000")],
     replace(RULES, max_per_instant=1, max_per_exchange=1, exchanges=frozenset({"bybit", "bingx"}),
             symbols=frozenset({BTC})),
     [("blocked: ETH not listed on mexc", "exchange not allowed: mexc", f"symbol not allowed: {ETH}",
       "expected net -10 bps is below the minimum 5 bps", "max 1 subscriptions per instant reached",
       "max 1 subscriptions per instant on bybit reached", f"max 1 subscriptions per instant on {ETH} reached",
       "notional on bybit would be 3000 USDT, above the maximum 2500 USDT")]),
    ("zero caps: nothing is created", [opportunity()], [],
     replace(RULES, max_per_instant=0, max_per_exchange=0, max_per_symbol=0, max_notional_per_exchange=Decimal(0)),
     [("max 0 subscriptions per instant reached", "max 0 subscriptions per instant on bybit reached",
       "max 0 subscriptions per instant on binanceusdm reached", f"max 0 subscriptions per instant on {BTC} reached",
       "notional on bybit would be 1000 USDT, above the maximum 0 USDT",
       "notional on binanceusdm would be 1000 USDT, above the maximum 0 USDT")]),
]


@pytest.mark.parametrize(("opportunities", "live_rows", "rules", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_rules(opportunities, live_rows, rules, expected) -> None:
    decisions = decide(opportunities, live_rows, rules)
    assert [decision.opportunity for decision in decisions] == opportunities
    assert [decision.reasons for decision in decisions] == expected
    assert [decision.accepted for decision in decisions] == [not reasons for reasons in expected]
