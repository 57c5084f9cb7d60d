"""Send slots: legs together, windows kept, as late as the lead allows and never later."""

from __future__ import annotations

import itertools

import pytest

from arbitrage.domain.send_slots import WINDOW_MARGIN_SECONDS, SlotRequest, assign_slots

BINGX_5_PER_S = {"bingx": [(5, 1.0)], "bybit": [(10, 1.0)]}


def most_in_any_window(times: list[float], seconds: float) -> int:
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


def test_an_exchange_with_room_sends_everyone_at_the_trigger() -> None:
    requests = [SlotRequest(i, ("bybit", "binanceusdm"), 100.0) for i in range(1, 11)]
    assert set(assign_slots(requests, BINGX_5_PER_S).values()) == {100.0}


def test_a_full_exchange_starts_earlier_never_later() -> None:
    requests = [SlotRequest(i, ("bingx", "bybit"), 100.0) for i in range(1, 13)]
    slots = assign_slots(requests, BINGX_5_PER_S)
    assert max(slots.values()) == 100.0, "nobody later than the trigger"
    assert sorted(slots.values()) == pytest.approx(sorted([100.0] * 5 + [100.0 - 1 - WINDOW_MARGIN_SECONDS] * 5
                                                          + [100.0 - 2 * (1 + WINDOW_MARGIN_SECONDS)] * 2))
    assert slots[1] == 100.0 and slots[12] < slots[6] < slots[5], "in subscription order"
    assert most_in_any_window(list(slots.values()), 1 + WINDOW_MARGIN_SECONDS) <= 5


def test_a_later_subscription_never_moves_an_earlier_one() -> None:
    requests = [SlotRequest(i, ("bingx", "bybit"), 100.0) for i in range(1, 9)]
    before = assign_slots(requests, BINGX_5_PER_S)
    after = assign_slots([*requests, SlotRequest(9, ("bingx", "mexc"), 100.0)], BINGX_5_PER_S)
    assert {key: after[key] for key in before} == before


def test_every_window_of_every_exchange_is_kept_for_mixed_pairs() -> None:
    exchanges = ("binanceusdm", "bybit", "bingx", "mexc")
    limits = {"binanceusdm": [(300, 10.0), (1200, 60.0)], "bybit": [(10, 1.0)], "bingx": [(5, 1.0)],
              "mexc": [(20, 2.0)]}
    pairs = [pair for pair in itertools.permutations(exchanges, 2)] * 9  # 108 subscriptions, 12 ordered pairs
    requests = [SlotRequest(i, pair, 100.0) for i, pair in enumerate(pairs, start=1)]
    slots = assign_slots(requests, limits)
    for exchange, windows in limits.items():
        times = [slots[r.key] for r in requests if exchange in r.exchanges]
        for orders, seconds in windows:
            assert most_in_any_window(times, seconds) <= orders, exchange
    # The lower bound: bingx takes 54 orders at 5 per second.
    span = 100.0 - min(slots.values())
    assert span <= (54 // 5) * (1 + WINDOW_MARGIN_SECONDS) + 1e-9


def test_a_close_leaves_as_soon_as_both_exchanges_have_room() -> None:
    from arbitrage.domain.send_slots import earliest_fit

    taken = {"bingx": [10.0] * 5, "bybit": [10.0]}
    assert earliest_fit(("bybit", "binanceusdm"), 10.0, BINGX_5_PER_S, taken) == 10.0
    assert earliest_fit(("bingx", "bybit"), 10.0, BINGX_5_PER_S, taken) == 11.0 + WINDOW_MARGIN_SECONDS
    assert earliest_fit(("bingx", "bybit"), 12.0, BINGX_5_PER_S, taken) == 12.0
