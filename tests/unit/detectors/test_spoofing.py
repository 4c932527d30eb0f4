"""SPOOFING: a NEW order of >= 5x the median of the user's previous 20 orders in the market (>= 100,000
USD with fewer than 5 of them), cancelled unfilled within 30 s, with a trade or fill of the user on
the other side in between."""

from __future__ import annotations

import math
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from order_book_events import (
    TEMPOS,
    cancel,
    matches,
    new,
    order_event,
    placed_and_cancelled,
    random_flow,
    trade,
    window_event,
    windows,
)

from riskengine.detectors import Match
from riskengine.detectors.spoofing import Spoofing, SpoofingConfig
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


def _check(events: list[WindowEvent], rule: Spoofing | None = None) -> Match | None:
    return (rule or Spoofing()).check(events, len(events) - 1)


def _spoof(
    notional: float = 150_000.0, cancel_at: int = 20_000, history: list[WindowEvent] | None = None
) -> list[WindowEvent]:
    """A BUY bait ``B`` placed at 100 s, a SELL trade 5 s later, the bait cancelled ``cancel_at`` after placing."""
    start = 100_000
    return [
        *(history or []),
        new(start, "B", "BUY", notional),
        trade(start + 5_000, "t1", "SELL"),
        cancel(start + cancel_at, "B"),
    ]


# --- hits ---------------------------------------------------------------------------------------------


def test_a_big_order_cancelled_around_a_trade_on_the_other_side_is_a_spoof() -> None:
    match = _check(_spoof())
    assert match is not None
    assert match.evidence == ("B.new", "t1", "B.cancel")
    assert match.episode == "B"
    assert match.timestamp == 120_000
    assert dict(match.metrics) == {
        "orderNotional": 150_000.0,
        "medianOrderNotional": 0.0,
        "notionalRatio": 0.0,
        "notionalRatioThreshold": 5.0,
        "previousOrders": 0.0,
        "cancelAfterMs": 20_000.0,
        "cancelWithinMs": 30_000.0,
        "oppositeTrades": 1.0,
    }
    assert "BUY order B of $150,000" in match.description
    assert "cancelled unfilled 20.0 s after it was placed" in match.description
    assert "first 5.0 s after placing it" in match.description


def test_with_enough_previous_orders_the_bait_is_measured_against_their_median() -> None:
    history = placed_and_cancelled(20, 0, 1_000, 1_000.0)
    match = _check(_spoof(notional=6_000.0, history=history))
    assert match is not None
    assert match.metrics["medianOrderNotional"] == 1_000.0
    assert match.metrics["notionalRatio"] == 6.0
    assert match.metrics["previousOrders"] == 20.0
    assert "6.0x the median $1,000 of the user's 20 previous orders" in match.description
    assert match.evidence == ("B.new", "t1", "B.cancel")  # the previous orders are not evidence


def test_a_fill_of_another_order_on_the_other_side_is_trading_too() -> None:
    events = [
        new(0, "B", "SELL", 200_000.0),
        new(1_000, "L", "BUY", 2_000.0),
        order_event(3_000, "L", "FILL", "BUY", 0.0, filled=20.0),
        cancel(10_000, "B", "SELL"),
    ]
    match = _check(events)
    assert match is not None
    assert match.evidence == ("B.new", "L.fill", "B.cancel")  # the other order's NEW is not trading


def test_amendments_of_the_bait_are_evidence() -> None:
    events = _spoof()
    events.insert(1, order_event(101_000, "B", "AMEND", "BUY", 150_000.0, price=101.0))
    match = _check(events)
    assert match is not None
    assert match.evidence == ("B.new", "B.amend", "t1", "B.cancel")


# --- near misses: each condition just missed -----------------------------------------------------------


def test_4_99x_the_median_is_not_5x() -> None:
    history = placed_and_cancelled(20, 0, 1_000, 1_000.0)
    assert _check(_spoof(notional=4_990.0, history=history)) is None


def test_just_under_100_000_usd_with_few_previous_orders_is_not_a_bait() -> None:
    history = placed_and_cancelled(4, 0, 1_000, 100.0)  # 4 previous orders: too few for a median
    assert _check(_spoof(notional=99_999.99, history=history)) is None


def test_a_cancel_30_001_ms_after_placing_is_too_late() -> None:
    assert _check(_spoof(cancel_at=30_001)) is None


def test_a_partly_filled_bait_is_not_a_spoof() -> None:
    events = _spoof()
    events[-1] = cancel(120_000, "B", filled=10.0)  # the cancel says something was filled
    assert _check(events) is None
    events = _spoof()
    events.insert(2, order_event(110_000, "B", "PARTIAL_FILL", "BUY", 140_000.0, filled=100.0))
    events[-1] = cancel(120_000, "B")  # even if the cancel itself does not say so
    assert _check(events) is None


def test_a_trade_on_the_same_side_is_not_trading_against_the_bait() -> None:
    events = _spoof()
    events[1] = trade(105_000, "t1", "BUY")
    assert _check(events) is None


def test_a_trade_before_the_placement_or_after_the_cancel_is_not_in_between() -> None:
    events = [trade(99_999, "t0", "SELL"), new(100_000, "B", "BUY", 150_000.0), cancel(120_000, "B")]
    assert _check(events) is None
    events = [new(100_000, "B", "BUY", 150_000.0), cancel(120_000, "B"), trade(120_001, "t2", "SELL")]
    assert Spoofing().check(events, 1) is None
    assert Spoofing().check(events, 2) is None  # the match ends at the cancel, never at a trade


def test_a_cancel_of_an_order_placed_outside_the_window_matches_nothing() -> None:
    # The window no longer holds the NEW (evicted): no bait, no guess.
    assert _check([trade(105_000, "t1", "SELL"), cancel(120_000, "B")]) is None


# --- exactly at the thresholds: inclusive ------------------------------------------------------------------


def test_exactly_5x_the_median_is_at_least_5x() -> None:
    history = placed_and_cancelled(20, 0, 1_000, 1_000.01)
    match = _check(_spoof(notional=5_000.05, history=history))  # 5 * 1000.01 is 5000.05 exactly
    assert match is not None
    assert match.strength == SpoofingConfig().base_strength


def test_exactly_5x_a_median_that_is_the_mean_of_two_middle_orders() -> None:
    # The median of 90, 90, 100.3, 100.6, 110, 110 is 100.45 and 5x it 502.25, though in floats
    # (100.3 + 100.6) / 2 * 5 is 502.24999999999994: the order one double below 502.25 is not a bait.
    sizes = [90.0, 90.0, 100.3, 100.6, 110.0, 110.0]
    history = [
        e for i, size in enumerate(sizes) for e in (new(i * 10, f"P{i}", notional=size), cancel(i * 10 + 1, f"P{i}"))
    ]
    start = 100_000
    bait = [trade(start + 5_000, "t1", "SELL"), cancel(start + 20_000, "B")]
    assert _check([*history, new(start, "B", "BUY", 502.25), *bait]) is not None
    below = math.nextafter(502.25, 0.0)
    assert below >= 5 * ((100.3 + 100.6) / 2)  # what a float comparison would call a bait
    assert _check([*history, new(start, "B", "BUY", below), *bait]) is None


def test_exactly_100_000_usd_with_few_previous_orders_is_a_bait() -> None:
    assert _check(_spoof(notional=100_000.0)) is not None


def test_a_cancel_exactly_30_000_ms_after_placing_is_within_30_s() -> None:
    assert _check(_spoof(cancel_at=30_000)) is not None


def test_trades_at_the_placement_or_the_cancel_time_are_in_between() -> None:
    # Stamped with the placement's time but ordered before the NEW (arrival), or at the cancel's time.
    for opposite in (trade(100_000, "t1", "SELL"), trade(120_000, "t1", "SELL")):
        events = sorted([new(100_000, "B", "BUY", 150_000.0), cancel(120_000, "B")], key=lambda e: e.timestamp)
        events.insert(0 if opposite.timestamp == 100_000 else 1, opposite)
        match = _check(events)
        assert match is not None
        assert "t1" in match.evidence


def test_exactly_5_previous_orders_make_a_median() -> None:
    # With 5 previous orders of $1,000, a $100,000 order is 100x their median: a bait by ratio.
    match = _check(_spoof(notional=100_000.0, history=placed_and_cancelled(5, 0, 1_000, 1_000.0)))
    assert match is not None
    assert match.metrics["previousOrders"] == 5.0
    assert match.metrics["notionalRatio"] == 100.0
    # ... and with 5 previous orders of $30,000, $100,000 is 3.3x: no longer enough.
    assert _check(_spoof(notional=100_000.0, history=placed_and_cancelled(5, 0, 1_000, 30_000.0))) is None


# --- which previous orders count ---------------------------------------------------------------------


def test_only_the_last_20_previous_orders_make_the_median() -> None:
    # 20 orders of $2,000, then 20 of $1,000: the last 20 have a median of $1,000, all 40 of $1,500.
    history = placed_and_cancelled(20, 0, 1_000, 2_000.0, prefix="A") + placed_and_cancelled(20, 30_000, 1_000, 1_000.0)
    match = _check(_spoof(notional=5_000.0, history=history))
    assert match is not None
    assert match.metrics["medianOrderNotional"] == 1_000.0


def test_previous_orders_older_than_history_ms_do_not_count() -> None:
    history = placed_and_cancelled(20, 0, 1_000, 1_000.0)  # placed 81-100 s before the bait
    rule = Spoofing(SpoofingConfig(history_ms=50_000))
    match = _check(_spoof(notional=6_000.0, history=history), rule)
    assert match is None  # none of them within 50 s: fewer than 5, and $6,000 is under $100,000
    assert _check(_spoof(notional=6_000.0, history=history), Spoofing(SpoofingConfig(history_ms=100_000))) is not None


def test_previous_orders_beyond_history_events_are_not_seen() -> None:
    # The blind spot: the window holds history_events events; the median is of the orders among them.
    # 10 orders of $2,000 then 10 of $1,000: $6,000 is 4x the median of all 20, 6x that of the last 10.
    history = placed_and_cancelled(10, 0, 1_000, 2_000.0, prefix="A") + placed_and_cancelled(10, 20_000, 1_000, 1_000.0)
    events = _spoof(notional=6_000.0, history=history)
    assert _check(events) is None
    match = _check(events, Spoofing(SpoofingConfig(history_events=23)))  # the last 10 orders, the bait, t1, cancel
    assert match is not None
    assert match.metrics["previousOrders"] == 10.0


# --- the fast path, reach and strength ---------------------------------------------------------------------


def test_only_an_unfilled_cancel_ends_a_spoof() -> None:
    events = _spoof()
    assert [Spoofing().check(events, end) is not None for end in range(len(events))] == [False, False, True]


def test_last_affected_reaches_cancel_within_ms_of_event_time() -> None:
    events = [trade(at, f"t{at}", "SELL") for at in (0, 10_000, 30_000, 30_001, 60_000)]
    assert Spoofing().last_affected(events, 0) == 2  # a cancel 30,000 ms later can still be completed
    assert Spoofing().last_affected(events, 3) == 4
    assert Spoofing(SpoofingConfig(cancel_within_ms=10_000)).last_affected(events, 0) == 1


def test_strength_grows_with_the_size_of_the_bait() -> None:
    at_threshold, ten_times = _check(_spoof(notional=100_000.0)), _check(_spoof(notional=1_000_000.0))
    assert at_threshold is not None and ten_times is not None
    assert at_threshold.strength == 0.6
    assert ten_times.strength == 1.0


@given(st.floats(min_value=100_000.0, max_value=1e12))
def test_strength_always_within_0_and_1(notional: float) -> None:
    match = _check(_spoof(notional=notional))
    assert match is not None
    assert 0.6 <= match.strength <= 1.0


def test_configured_thresholds_apply() -> None:
    rule = Spoofing(SpoofingConfig(min_notional_usd=10_000.0, cancel_within_ms=5_000))
    assert _check(_spoof(notional=10_000.0, cancel_at=5_000), rule) is not None
    assert _check(_spoof(notional=10_000.0, cancel_at=5_001), rule) is None
    assert rule.window_ms == 3_600_000 + 5_000


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"min_ratio": 0.9}, "min_ratio >= 1"),
        ({"min_notional_usd": 0.0}, "min_notional_usd > 0"),
        ({"cancel_within_ms": 0}, "cancel_within_ms > 0"),
        ({"saturation": 1.0}, "saturation > 1"),
        ({"min_previous_orders": 0}, "1 <= min_previous_orders"),
        ({"min_previous_orders": 21}, "min_previous_orders <= previous_orders"),
        ({"history_events": 22}, "history_events >= previous_orders + 3"),
        ({"history_ms": -1}, "history_ms >= 0"),
    ],
)
def test_settings_out_of_range_are_refused(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SpoofingConfig(**settings)  # type: ignore[arg-type]


# --- the trade signal: a trade against an open bait, before any cancel --------------------------------------


def _signal(events: list[WindowEvent], rule: Spoofing | None = None) -> float:
    return (rule or Spoofing()).trade_signal(events, len(events) - 1)


def test_a_trade_against_an_open_bait_gets_the_base_strength() -> None:
    assert _signal([new(0, "B", "BUY", 150_000.0), trade(5_000, "t1", "SELL")]) == 0.6
    assert _signal([new(0, "B", "BUY", 150_000.0), trade(30_000, "t1", "SELL")]) == 0.6  # placed exactly 30 s before


def test_no_signal_without_an_open_bait_on_the_other_side_placed_within_30_s() -> None:
    bait = new(0, "B", "BUY", 150_000.0)
    assert _signal([bait, trade(30_001, "t1", "SELL")]) == 0.0  # placed too long ago
    assert _signal([bait, trade(5_000, "t1", "BUY")]) == 0.0  # the same side
    assert _signal([bait, cancel(4_000, "B"), trade(5_000, "t1", "SELL")]) == 0.0  # no longer open
    part = order_event(4_000, "B", "PARTIAL_FILL", "BUY", 100_000.0, filled=500.0)
    assert _signal([bait, part, trade(5_000, "t1", "SELL")]) == 0.0  # something filled
    assert _signal([new(0, "B", "BUY", 99_999.0), trade(5_000, "t1", "SELL")]) == 0.0  # not bait-sized
    history = placed_and_cancelled(20, -100_000, 1_000, 50_000.0)  # usual orders of $50,000: $150,000 is 3x
    assert _signal([*history, bait, trade(5_000, "t1", "SELL")]) == 0.0


def test_an_amended_bait_is_still_open() -> None:
    events = [new(0, "B", "BUY", 150_000.0), order_event(1_000, "B", "AMEND", "BUY", 150_000.0, 99.0)]
    assert _signal([*events, trade(5_000, "t1", "SELL")]) == 0.6


# --- properties over random order flows -------------------------------------------------------------------


def _flows() -> st.SearchStrategy[list[WindowEvent]]:
    """One user's order book in one market: random order lives and trades (order_book_events.random_flow)."""
    return st.builds(
        lambda seed, steps: next(
            iter(windows(random_flow(random.Random(seed), steps, TEMPOS[0]), Scope.ORDER_BOOK).values())
        ),
        st.integers(min_value=0, max_value=2**32),
        st.integers(min_value=2, max_value=60),
    )


@given(_flows())
def test_a_match_is_a_cancel_its_bait_and_trades_against_it(events: list[WindowEvent]) -> None:
    for end, match in matches(Spoofing(), events).items():
        ended, by_id = events[end], {e.event_id: e for e in events}
        assert ended.event_type == "CANCEL" and ended.filled_quantity == 0
        assert match.episode == ended.order_id
        assert match.evidence[-1] == ended.event_id  # the cancel is always evidence, and the last of it
        assert match.timestamp == ended.timestamp
        own = [by_id[e] for e in match.evidence if by_id[e].order_id == ended.order_id]
        assert own[0].event_type == "NEW" and ended.timestamp - own[0].timestamp <= 30_000
        opposite = [by_id[e] for e in match.evidence if by_id[e].order_id != ended.order_id]
        assert opposite and all(e.side != own[0].side for e in opposite)
        assert 0.0 <= match.strength <= 1.0


@given(_flows(), st.data())
def test_adding_honest_trades_on_the_bait_side_never_creates_a_spoof(
    events: list[WindowEvent], data: st.DataObject
) -> None:
    side = data.draw(st.sampled_from(("BUY", "SELL")))
    extra = data.draw(st.lists(st.integers(min_value=0, max_value=len(events)), max_size=10))
    with_trades = list(events)
    for count, position in enumerate(sorted(extra, reverse=True)):
        at = with_trades[position - 1].timestamp if position else events[0].timestamp  # keeps event-time order
        with_trades.insert(position, trade(at, f"honest{count}", side))
    rule = Spoofing(SpoofingConfig(history_events=1_000))  # the inserted trades push nothing out of view
    assert _spoofs_of(rule, with_trades, side) == _spoofs_of(rule, events, side)


def _spoofs_of(rule: Spoofing, events: list[WindowEvent], side: str) -> set[tuple[str, ...]]:
    """The evidence of every spoof whose bait is on ``side``."""
    sides = {e.order_id: e.side for e in events if e.event_type == "NEW"}
    return {match.evidence for match in matches(rule, events).values() if sides[match.episode] == side}


def test_the_random_flows_do_hold_spoofs() -> None:
    # The properties above are not vacuous: the flows they draw from have matches.
    found = sum(
        len(matches(Spoofing(), events))
        for seed in range(200)
        for events in windows(random_flow(random.Random(seed), 60, TEMPOS[0]), Scope.ORDER_BOOK).values()
    )
    assert found >= 20


def test_window_events_of_records_keep_order_fields() -> None:
    # The flows' records become the window events the engine would place (guards the test harness).
    record = random_flow(random.Random(1), 1, TEMPOS[0])[0]
    event = window_event(record, 7)
    assert (event.order_id, event.event_type, event.arrival) == (record["orderId"], "NEW", "000000000007")
