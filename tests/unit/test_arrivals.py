"""ArrivalView: a window replayed arrival by arrival, whatever part of it Redis returned at once; and how
a batch is cut into parts."""

from __future__ import annotations

import pytest

from riskengine.arrivals import ArrivalView
from riskengine.model import arrival_key
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope, WindowSpec
from riskengine.windows.store import MAX_PARTS, WindowState, part_sizes

MARKET = WindowSpec(Scope.SYMBOL_EXCHANGE, 11, 360_000, 60_000, volume_bucket_ms=60_000)


def event(trade_id: str, at: int, offset: int, cents: int = 100) -> WindowEvent:
    return WindowEvent(at, trade_id, "U", "SELL", 1.0, 1.0, cents / 100, arrival_key(0, offset), cents)


def state(*events: WindowEvent, buckets: dict[int, int] | None = None) -> WindowState:
    window = WindowState(MARKET, "rk:v2:{se:X/USDT@EX}")
    window.events = sorted(events, key=lambda e: e.order)
    window.volume_buckets = dict(buckets or {})
    return window


def test_trades_not_yet_arrived_are_held_back_and_put_back_in_event_time_order() -> None:
    old, late, new = event("old", 1_000, 1), event("late", 2_000, 9), event("new", 3_000, 8)
    view = ArrivalView(state(old, late, new), not_arrived={"new", "late"}, earliest=2_000)
    assert [e.event_id for e in view.events] == ["old"]
    assert view.arrive("new") == 1
    assert view.arrive("late") == 1  # arrived after "new", but sits before it in event time
    assert [e.event_id for e in view.events] == ["old", "late", "new"]


def test_equal_event_times_are_ordered_by_arrival_not_by_trade_id() -> None:
    first, second = event("z", 1_000, 1), event("a", 1_000, 2)
    view = ArrivalView(state(first, second), not_arrived={"z", "a"}, earliest=1_000)
    view.arrive("z")
    view.arrive("a")
    assert [e.event_id for e in view.events] == ["z", "a"]


def test_trades_of_earlier_parts_count_as_arrived() -> None:
    earlier, current = event("earlier", 1_000, 1), event("current", 2_000, 2)
    view = ArrivalView(state(earlier, current), not_arrived={"current"}, earliest=2_000)
    assert [e.event_id for e in view.events] == ["earlier"]


def test_a_held_back_trade_stamped_before_the_window_history_is_still_found() -> None:
    # A later part's trade placed by an earlier attempt can sit anywhere in the window.
    history = [event(f"h{i}", i * 1_000, i) for i in range(5)]
    early = event("early", 1_500, 9)
    view = ArrivalView(state(*history, early), not_arrived={"early"}, earliest=1_500)
    assert "early" not in [e.event_id for e in view.events] and len(view.events) == 5


def test_volume_buckets_show_only_what_had_arrived() -> None:
    a, b = event("a", 60_500, 1, cents=300), event("b", 61_000, 2, cents=700)  # both in bucket 1
    view = ArrivalView(state(a, b, buckets={1: 1_000, 0: 50}), not_arrived={"a", "b"}, earliest=60_500)
    assert view.volume_cents(range(0, 2)) == 50
    view.arrive("a")
    assert view.volume_cents(range(0, 2)) == 350
    view.arrive("b")
    assert view.volume_cents(range(0, 2)) == 1_050
    assert view.volume_cents(range(0, 1)) == 50


def test_before_returns_the_events_just_before_a_position() -> None:
    events = [event(f"e{i}", i * 1_000, i) for i in range(5)]
    view = ArrivalView(state(*events), not_arrived=set(), earliest=2**63)
    assert [e.event_id for e in view.before(4, 2)] == ["e2", "e3"]
    assert [e.event_id for e in view.before(1, 5)] == ["e0"]


@pytest.mark.parametrize("count", [0, 1, 100, 125, 126, 300, 1_000, 9_999, 10_000])
def test_a_batch_is_applied_in_a_bounded_number_of_parts_led_by_a_short_one(count: int) -> None:
    sizes = part_sizes(count)
    assert sum(sizes) == count and all(sizes)
    assert len(sizes) <= MAX_PARTS + 1
    if len(sizes) > 1:
        assert sizes[0] <= min(sizes[1:]) and max(sizes[1:]) - min(sizes[1:]) <= max(sizes[1:]) // 2
