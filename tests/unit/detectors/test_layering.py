"""LAYERING: >= 4 NEW orders on one side at >= 4 distinct prices placed within 60 s, all cancelled
unfilled within 90 s of the first placement, resting in the book together, with a trade or fill of the
user on the other side between the first placement and the last cancel."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from order_book_events import TEMPOS, cancel, matches, new, order_event, random_flow, trade, windows

from riskengine.detectors import Match
from riskengine.detectors.layering import Layering, LayeringConfig
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope

PRICES = (100.0, 99.9, 99.8, 99.7, 99.6, 99.5)


def _layer(
    orders: int = 4,
    prices: tuple[float, ...] = PRICES,
    placed_every: int = 10_000,
    trade_at: int = 35_000,
    trade_side: str = "SELL",
    cancels_at: int = 40_000,
) -> list[WindowEvent]:
    """BUY orders L0, L1... placed ``placed_every`` ms apart, a trade, then the orders cancelled 1 s apart
    from ``cancels_at`` on, in event-time order."""
    events = [new(i * placed_every, f"L{i}", "BUY", 2_000.0, prices[i]) for i in range(orders)]
    events.append(trade(trade_at, "t1", trade_side))
    events += [cancel(cancels_at + i * 1_000, f"L{i}", price=prices[i]) for i in range(orders)]
    return sorted(events, key=lambda event: event.timestamp)


def _check(events: list[WindowEvent], rule: Layering | None = None) -> Match | None:
    return (rule or Layering()).check(events, len(events) - 1)


# --- hits ---------------------------------------------------------------------------------------------


def test_four_orders_at_four_levels_cancelled_around_a_trade_on_the_other_side_are_a_layer() -> None:
    events = _layer()
    match = _check(events)
    assert match is not None
    assert match.evidence == (
        *("L0.new", "L1.new", "L2.new", "L3.new"),
        "t1",
        *("L0.cancel", "L1.cancel", "L2.cancel", "L3.cancel"),
    )
    assert match.episode == "L0"
    assert match.timestamp == 43_000
    assert dict(match.metrics) == {
        "orders": 4.0,
        "ordersThreshold": 4.0,
        "priceLevels": 4.0,
        "priceLevelsThreshold": 4.0,
        "placementSpanMs": 30_000.0,
        "cancelSpanMs": 43_000.0,
        "oppositeTrades": 1.0,
    }
    assert match.description.startswith("4 BUY orders at 4 price levels (99.7 to 100) placed within 30.0 s")
    assert "all cancelled unfilled within 43.0 s of the first" in match.description
    assert match.strength == LayeringConfig().base_strength


def test_the_match_ends_at_the_last_cancel_and_later_cancels_join_the_same_episode() -> None:
    events = _layer(orders=6, placed_every=5_000)
    found = matches(Layering(), events)
    cancels = [end for end, event in enumerate(events) if event.event_type == "CANCEL"]
    assert sorted(found) == cancels[3:]  # from the 4th cancel on: 3 cancelled orders are no layer yet
    assert {match.episode for match in found.values()} == {"L0"}
    assert found[cancels[-1]].metrics["orders"] == 6.0
    assert "L5.cancel" in found[cancels[-1]].evidence


def test_the_first_order_cancelled_last_still_names_the_layer() -> None:
    events = _layer()
    first_cancel = next(i for i, event in enumerate(events) if event.event_id == "L0.cancel")
    moved = events.pop(first_cancel)._replace(timestamp=44_000)
    events.append(moved)
    found = matches(Layering(), events)
    assert list(found) == [len(events) - 1]
    assert found[len(events) - 1].episode == "L0"


def test_an_earlier_order_that_does_not_qualify_does_not_name_the_layer() -> None:
    # E was placed 70 s before the last layer order: too early to be in it, so L0 is the first order.
    events = sorted(
        [new(-40_000, "E", "BUY", 2_000.0, 100.1), cancel(30_000, "E", price=100.1), *_layer()],
        key=lambda event: event.timestamp,
    )
    match = _check(events)
    assert match is not None
    assert match.episode == "L0"
    assert "E.new" not in match.evidence


def test_a_fill_of_another_order_on_the_other_side_is_trading_too() -> None:
    events = _layer()
    events[4] = order_event(35_000, "S", "FILL", "SELL", 0.0, filled=5.0)
    match = _check(events)
    assert match is not None
    assert "S.fill" in match.evidence


# --- near misses ---------------------------------------------------------------------------------------


def test_three_orders_are_not_a_layer() -> None:
    assert not matches(Layering(), _layer(orders=3))


def test_four_orders_at_three_price_levels_are_not_a_layer() -> None:
    assert not matches(Layering(), _layer(prices=(100.0, 99.9, 99.8, 99.8)))


def test_the_fourth_order_placed_60_001_ms_after_the_first_is_too_late() -> None:
    assert _check(_layer(placed_every=20_000, trade_at=60_500, cancels_at=61_000)) is not None  # 60,000 ms
    events = _layer(placed_every=20_000, trade_at=60_500, cancels_at=61_000)
    events[3] = events[3]._replace(timestamp=60_001)
    assert _check(events) is None


def test_a_cancel_90_001_ms_after_the_first_placement_is_too_late() -> None:
    assert _check(_layer(cancels_at=87_000)) is not None  # the last cancel at exactly 90,000 ms
    assert _check(_layer(cancels_at=87_001)) is None


def test_a_partly_filled_order_is_not_cancelled_unfilled() -> None:
    events = _layer()
    events[-1] = cancel(43_000, "L3", price=99.7, filled=1.0)
    assert not matches(Layering(), events)
    events = _layer()
    events.insert(4, order_event(34_000, "L3", "PARTIAL_FILL", "BUY", 1_000.0, 99.7, filled=10.0))
    assert not matches(Layering(), events)


def test_a_trade_on_the_same_side_is_not_trading_against_the_layer() -> None:
    assert not matches(Layering(), _layer(trade_side="BUY"))


def test_a_trade_before_the_first_placement_is_not_in_between() -> None:
    events = _layer()
    del events[4]
    events.insert(0, trade(-1, "t0", "SELL"))
    assert not matches(Layering(), events)


def test_a_trade_after_the_last_cancel_is_not_in_between() -> None:
    events = _layer()
    del events[4]
    events.append(trade(43_001, "t2", "SELL"))
    assert not matches(Layering(), events)


def test_cancel_and_re_place_one_order_at_a_time_is_no_layer() -> None:
    # A retail trader chasing the price: 6 orders at 6 prices within 60 s, each cancelled before the
    # next is placed, a trade on the other side meanwhile. Never more than one order in the book.
    events = []
    for i, price in enumerate(PRICES):
        events += [new(i * 9_000, f"R{i}", "BUY", 2_000.0, price), cancel(i * 9_000 + 8_000, f"R{i}", price=price)]
    events.insert(5, trade(17_500, "t1", "SELL"))
    assert not matches(Layering(), events)
    # ... which the definition alone would call a layer (min_resting_orders 1 drops the condition).
    assert matches(Layering(LayeringConfig(min_resting_orders=1)), events)


def test_three_orders_resting_together_are_not_enough() -> None:
    # L3 is placed after L0 is cancelled: never four in the book at once.
    events = _layer()
    l0_cancel = next(i for i, event in enumerate(events) if event.event_id == "L0.cancel")
    events.pop(l0_cancel)
    events.insert(3, cancel(25_000, "L0", price=100.0))
    assert [e.event_id for e in events[:5]] == ["L0.new", "L1.new", "L2.new", "L0.cancel", "L3.new"]
    assert not matches(Layering(), events)
    assert matches(Layering(LayeringConfig(min_resting_orders=3)), events)


# --- exactly at the thresholds ---------------------------------------------------------------------------


def test_exactly_four_orders_at_exactly_four_levels_within_exactly_60_and_90_s() -> None:
    events = _layer(placed_every=20_000, trade_at=60_500, cancels_at=87_000)
    match = _check(events)
    assert match is not None
    assert (match.metrics["placementSpanMs"], match.metrics["cancelSpanMs"]) == (60_000.0, 90_000.0)


def test_trades_at_the_first_placement_or_the_last_cancel_are_in_between() -> None:
    for at, position in ((0, 0), (43_000, 7)):  # ordered before the NEW or the cancel of the same time
        events = _layer()
        del events[4]
        events.insert(position, trade(at, "t1", "SELL"))
        match = _check(events)
        assert match is not None, at
        assert "t1" in match.evidence


# --- reach, strength, settings -------------------------------------------------------------------------------


def test_last_affected_reaches_cancel_within_ms_of_event_time() -> None:
    events = [trade(at, f"t{at}", "SELL") for at in (0, 45_000, 90_000, 90_001)]
    assert Layering().last_affected(events, 0) == 2
    assert Layering().last_affected(events, 1) == 3


def test_strength_grows_with_the_price_levels() -> None:
    four, six = _check(_layer()), _check(_layer(orders=6, placed_every=5_000))
    assert four is not None and six is not None
    assert four.strength < six.strength <= 1.0


def test_configured_thresholds_apply() -> None:
    rule = Layering(LayeringConfig(min_orders=3, min_levels=3, min_resting_orders=3, place_within_ms=20_000))
    assert _check(_layer(orders=3), rule) is not None
    assert _check(_layer(orders=3, placed_every=10_001), rule) is None
    assert rule.window_ms == 90_000


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_orders": 1}, "min_orders >= 2"),
        ({"min_levels": 0}, "min_levels >= 1"),
        ({"saturation": 1.0}, "saturation > 1"),
        ({"min_resting_orders": 0}, "1 <= min_resting_orders <= min_orders"),
        ({"min_resting_orders": 5}, "1 <= min_resting_orders <= min_orders"),
        ({"place_within_ms": -1}, "place_within_ms >= 0"),
        ({"cancel_within_ms": 0}, "cancel_within_ms > 0"),
        ({"history_events": 8}, "history_events >= 2 * min_orders + 1"),
    ],
)
def test_settings_out_of_range_are_refused(settings: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        LayeringConfig(**settings)  # type: ignore[arg-type]


# --- properties over random order flows ------------------------------------------------------------------


def _flows() -> st.SearchStrategy[list[WindowEvent]]:
    return st.builds(
        lambda seed, steps: next(
            iter(windows(random_flow(random.Random(seed), steps, TEMPOS[0]), Scope.ORDER_BOOK).values())
        ),
        st.integers(min_value=0, max_value=2**32),
        st.integers(min_value=2, max_value=80),
    )


@given(_flows())
def test_a_match_is_a_layer_ending_at_its_last_cancel(events: list[WindowEvent]) -> None:
    by_id = {event.event_id: event for event in events}
    for end, match in matches(Layering(LayeringConfig(min_resting_orders=1)), events).items():
        evidence = [by_id[event_id] for event_id in match.evidence]
        assert match.evidence[-1] == events[end].event_id  # the layer's last cancel closes its evidence
        placed = [event for event in evidence if event.event_type == "NEW"]
        assert len(placed) >= 4 and len({event.price for event in placed}) >= 4
        assert len({event.side for event in placed}) == 1
        assert match.episode == placed[0].order_id
        cancels = [event for event in evidence if event.event_type == "CANCEL"]
        assert {event.order_id for event in cancels} == {event.order_id for event in placed}
        assert all(event.filled_quantity == 0 for event in cancels)
        assert max(e.timestamp for e in cancels) - placed[0].timestamp <= 90_000
        assert any(event.side != placed[0].side for event in evidence)


@given(_flows())
def test_resting_together_only_ever_removes_matches(events: list[WindowEvent]) -> None:
    strict, loose = matches(Layering(), events), matches(Layering(LayeringConfig(min_resting_orders=1)), events)
    assert strict.keys() <= loose.keys()


def test_the_random_flows_do_hold_layers() -> None:
    found = sum(
        len(matches(Layering(), events))
        for seed in range(300)
        for events in windows(random_flow(random.Random(seed), 80, TEMPOS[0]), Scope.ORDER_BOOK).values()
    )
    assert found >= 5
