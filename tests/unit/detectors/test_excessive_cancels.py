"""EXCESSIVE_CANCELS: within 30 minutes ending at an order event, >= 20 NEW orders and >= 6 CANCELs per
FILL (at least one FILL); or more than 45 order events within 60 s (quote stuffing)."""

from __future__ import annotations

import dataclasses
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from order_book_events import TEMPOS, cancel, matches, new, order_event, random_flow, windows

from riskengine.detectors import Match
from riskengine.detectors.excessive_cancels import ExcessiveCancels, ExcessiveCancelsConfig
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope

MINUTE = 60_000
HALF_HOUR = 30 * MINUTE


class Book:
    """A user's order events in the order they are written, one every ``gap_ms`` unless told."""

    def __init__(self, gap_ms: int = 10_000) -> None:
        self.events: list[WindowEvent] = []
        self.gap_ms = gap_ms
        self.at = 0
        self.orders = 0

    def _next(self, at: int | None) -> int:
        self.at = self.at + self.gap_ms if at is None else at
        return self.at

    def filled(self, count: int = 1) -> Book:
        """``count`` orders placed and filled."""
        for _ in range(count):
            order = self._order()
            self.events += [new(self._next(None), order), order_event(self._next(None), order, "FILL", filled=10.0)]
        return self

    def cancelled(self, count: int = 1) -> Book:
        """``count`` orders placed and cancelled unfilled."""
        for _ in range(count):
            order = self._order()
            self.events += [new(self._next(None), order), cancel(self._next(None), order)]
        return self

    def placed(self, count: int = 1) -> Book:
        """``count`` orders placed and left open."""
        self.events += [new(self._next(None), self._order()) for _ in range(count)]
        return self

    def amended(self, at: int | None = None) -> Book:
        self.events.append(order_event(self._next(at), "O0", "AMEND", event_id=f"O0.amend@{self.at}"))
        return self

    def _order(self) -> str:
        self.orders += 1
        return f"O{self.orders}"


def _check(events: list[WindowEvent], rule: ExcessiveCancels | None = None) -> Match | None:
    return (rule or ExcessiveCancels()).check(events, len(events) - 1)


# --- the cancel ratio -----------------------------------------------------------------------------------


def test_20_orders_and_6_cancels_per_fill_match_with_the_window_as_evidence() -> None:
    events = Book().filled().cancelled(6).placed(13).events  # 20 NEW, 6 CANCEL, 1 FILL within 260 s
    match = _check(events)
    assert match is not None
    assert match.evidence == tuple(event.event_id for event in events)
    assert match.timestamp == events[-1].timestamp
    assert match.episode == ""  # runs of matches are the harness' episodes
    assert dict(match.metrics) == {
        "ordersPlaced": 20.0,
        "cancels": 6.0,
        "fills": 1.0,
        "cancelsPerFill": 6.0,
        "cancelsPerFillThreshold": 6.0,
        "orderEvents": 7.0,  # one every 10 s: 7 within the last 60 s, inclusive
        "orderEventsThreshold": 45.0,
        "windowMs": 1_800_000.0,
    }
    assert match.description == (
        "20 orders placed and 6 cancelled against 1 filled within 30 min (6.0 cancels per fill, limit 6)"
    )
    assert match.strength == ExcessiveCancelsConfig().base_strength  # exactly at the threshold


def test_19_orders_are_not_20() -> None:
    assert _check(Book().filled().cancelled(6).placed(12).events) is None


def test_5_9_cancels_per_fill_are_not_6() -> None:
    book = Book(gap_ms=2_000).filled(10).cancelled(59)  # 69 NEW, 59 CANCEL, 10 FILL within 276 s
    assert _check(book.events) is None
    assert _check(book.cancelled(1).events) is not None  # 60 cancels: exactly 6 per fill


def test_cancels_without_any_fill_are_not_a_ratio() -> None:
    assert _check(Book().cancelled(30).events) is None


def test_market_makers_cancel_most_quotes_but_fill_some() -> None:
    # Two quotes a cycle, one side filled in most cycles: about 1.5 cancels per fill, far below 6.
    book = Book(gap_ms=5_000)
    for cycle in range(40):
        book.filled().cancelled(1 if cycle % 3 else 2)
    assert not matches(ExcessiveCancels(), book.events)


def test_the_30_minutes_are_inclusive() -> None:
    # The 20th NEW placed exactly 30 min after the first: all 20 counted; 1 ms later, only 19.
    events = Book().filled().cancelled(6).placed(13).events
    first = events[0].timestamp
    assert _check([*events[:-1], events[-1]._replace(timestamp=first + HALF_HOUR)]) is not None
    assert _check([*events[:-1], events[-1]._replace(timestamp=first + HALF_HOUR + 1)]) is None


def test_a_fill_inside_a_run_of_cancels_still_matches_when_the_ratio_holds() -> None:
    # A position matches when the condition holds over the window ending at it, whatever its event:
    # a FILL that leaves 12 cancels for 2 fills is still 6 per fill, so the run is not cut there.
    events = Book().filled().cancelled(12).placed(7).events  # 20 NEW, 12 CANCEL, 1 FILL
    events.append(order_event(events[-1].timestamp + 1, "O1", "FILL", event_id="O1.fill2", filled=20.0))
    assert _check(events) is not None
    found = matches(ExcessiveCancels(), events)
    assert list(found) == list(range(len(events) - 2, len(events)))  # the 20th NEW, then the FILL


def test_an_amendment_matches_when_the_window_has_slid_past_an_old_fill() -> None:
    # 22 NEW, 11 CANCELs and 2 FILLs: 5.5 per fill. 30 min + 1 ms after the first FILL, the first order's
    # NEW and FILL have left the window: 21 NEW and 11 CANCELs for one FILL. The amendment adds no
    # cancel, yet it is the first position that matches.
    events = Book(gap_ms=1_000).filled(2).cancelled(11).placed(9).events
    assert not matches(ExcessiveCancels(), events)
    assert events[1].event_id == "O1.fill"
    events.append(order_event(events[1].timestamp + HALF_HOUR + 1, "O22", "AMEND", event_id="O22.amend"))
    match = _check(events)
    assert match is not None
    assert (match.metrics["ordersPlaced"], match.metrics["fills"], match.metrics["cancels"]) == (21.0, 1.0, 11.0)
    assert "O1.new" not in match.evidence and "O1.fill" not in match.evidence


def test_exactly_6_cancels_per_fill_decided_exactly() -> None:
    # 55 cancels for 25 fills is exactly 2.2 each, though 2.2 * 25 is 55.00000000000001 in floats.
    events = Book(gap_ms=10_000).filled(25).cancelled(55).events  # within 1,600 s, never stuffing
    assert _check(events, ExcessiveCancels(ExcessiveCancelsConfig(cancels_per_fill=2.2))) is not None
    assert _check(events[:-2], ExcessiveCancels(ExcessiveCancelsConfig(cancels_per_fill=2.2))) is None


# --- quote stuffing -----------------------------------------------------------------------------------------


def _stuffed(count: int, span_ms: int) -> list[WindowEvent]:
    """``count`` NEW orders spread evenly so that the first and last are ``span_ms`` apart."""
    return [new(i * span_ms // max(count - 1, 1), f"Q{i}") for i in range(count)]


def test_46_order_events_within_60_s_are_quote_stuffing() -> None:
    events = _stuffed(46, MINUTE)
    match = _check(events)
    assert match is not None
    assert match.evidence == tuple(f"Q{i}.new" for i in range(46))
    assert match.metrics["orderEvents"] == 46.0
    assert match.metrics["windowMs"] == 60_000.0
    assert match.metrics["ordersPlaced"] == 46.0
    assert "cancelsPerFill" not in match.metrics  # no fill, no ratio
    assert match.description == "46 order events within 60 s (limit 45)"


def test_45_order_events_within_60_s_are_not_more_than_45() -> None:
    assert not matches(ExcessiveCancels(), _stuffed(45, 1_000))


def test_46_order_events_spanning_60_001_ms_are_not_within_60_s() -> None:
    assert _check(_stuffed(46, MINUTE + 1)) is None
    events = _stuffed(46, MINUTE)
    assert _check([events[0]._replace(timestamp=-1), *events[1:]]) is None


def test_when_both_hold_the_ratio_window_is_the_evidence() -> None:
    slow = Book(gap_ms=20_000).filled().cancelled(6).placed(10).events
    fast = [new(slow[-1].timestamp + 1_000 + i * 100, f"Q{i}") for i in range(46)]
    match = _check(slow + fast)
    assert match is not None
    assert match.evidence == tuple(event.event_id for event in slow + fast)
    assert match.metrics["windowMs"] == 1_800_000.0
    assert match.metrics["orderEvents"] > 45.0
    assert " order events within 60 s" in match.description and "cancels per fill" in match.description


def test_strength_grows_with_how_far_past_the_limits_the_user_is() -> None:
    at_threshold = _check(_stuffed(46, MINUTE))
    twice = _check(_stuffed(90, MINUTE))
    ratio = _check(Book(gap_ms=2_000).filled().cancelled(30).events)  # 30 events a minute: not stuffing
    assert at_threshold is not None and twice is not None and ratio is not None
    assert at_threshold.strength < twice.strength <= 1.0
    assert ratio.strength > ExcessiveCancelsConfig().base_strength  # 30 cancels per fill: 5x the limit
    assert ratio.strength == 1.0


# --- what the rule keeps and reaches -----------------------------------------------------------------------


def test_length_holds_the_ratio_window_of_anyone_not_stuffing() -> None:
    # 45 events in each of the 30 minutes, and one more: someone with more is stuffing somewhere.
    assert ExcessiveCancels().length == 45 * 30 + 1
    rule = ExcessiveCancels(ExcessiveCancelsConfig(window_ms=10_000, stuffing_window_ms=1_000, stuffing_max_events=3))
    assert rule.length == 3 * 10 + 1  # ten windows of 1,001 ms cover 10,001 ms


def test_last_affected_reaches_the_window_of_event_time() -> None:
    events = _stuffed(3, 2 * HALF_HOUR)
    assert ExcessiveCancels().last_affected(events, 0) == 1  # 30 min later: inclusive
    assert ExcessiveCancels().last_affected(events, 1) == 2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"window_ms": 0}, "window_ms > 0"),
        ({"min_orders": 0}, "min_orders >= 1"),
        ({"min_fills": 0}, "min_fills >= 1"),
        ({"cancels_per_fill": 0.0}, "cancels_per_fill > 0"),
        ({"stuffing_window_ms": -1}, "stuffing_window_ms >= 0"),
        ({"stuffing_max_events": 0}, "stuffing_max_events >= 1"),
        ({"saturation": 1.0}, "saturation > 1"),
    ],
)
def test_settings_out_of_range_are_refused(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ExcessiveCancelsConfig(**settings)  # type: ignore[arg-type]


# --- properties over random order flows ----------------------------------------------------------------------

# Small enough for short random flows to cross both limits, and to hold more events in the ratio
# window than the rule keeps (17).
SMALL = ExcessiveCancelsConfig(
    window_ms=20_000, min_orders=6, cancels_per_fill=2.0, stuffing_window_ms=5_000, stuffing_max_events=4
)
STUFFING_ALONE = ExcessiveCancels(dataclasses.replace(SMALL, min_orders=10**9))


def _flows() -> st.SearchStrategy[list[WindowEvent]]:
    """One user's order events: random lives at a stuffing or a cancelling tempo."""
    return st.builds(
        lambda seed, steps, tempo: next(
            iter(windows(random_flow(random.Random(seed), steps, tempo), Scope.USER_ORDERS).values()), []
        ),
        st.integers(min_value=0, max_value=2**32),
        st.integers(min_value=1, max_value=80),
        st.sampled_from(TEMPOS[1:]),
    )


@given(_flows())
def test_a_match_counts_exactly_its_evidence(events: list[WindowEvent]) -> None:
    for end, match in matches(ExcessiveCancels(SMALL), events).items():
        evidence = events[end - len(match.evidence) + 1 : end + 1]
        assert match.evidence == tuple(event.event_id for event in evidence)  # the events up to the match
        kinds = [event.event_type for event in evidence]
        assert match.metrics["ordersPlaced"] == kinds.count("NEW")
        assert match.metrics["cancels"] == kinds.count("CANCEL")
        assert match.metrics["fills"] == kinds.count("FILL")
        assert events[end].timestamp - evidence[0].timestamp <= match.metrics["windowMs"]
        assert 0.0 <= match.strength <= 1.0


@given(_flows())
def test_the_ratio_goes_unjudged_only_where_the_user_was_stuffing(events: list[WindowEvent]) -> None:
    # More events in the ratio window than the rule keeps means some stuffing window in it held more
    # than the limit: the user was matched for stuffing there.
    for end in _unjudged(events):
        assert any(STUFFING_ALONE.check(events, q) for q in range(end - ExcessiveCancels(SMALL).length + 1, end + 1))


def _unjudged(events: list[WindowEvent]) -> list[int]:
    """The positions whose ratio window holds more events than the rule keeps."""
    length = ExcessiveCancels(SMALL).length
    return [
        end
        for end in range(length - 1, len(events))
        if events[end].timestamp - events[end - length + 1].timestamp <= SMALL.window_ms
    ]


def test_the_random_flows_do_hold_both_conditions_and_unjudged_ratios() -> None:
    flows = [
        events
        for seed in range(100)
        for tempo in TEMPOS[1:]
        for events in windows(random_flow(random.Random(seed), 80, tempo), Scope.USER_ORDERS).values()
    ]
    found = [match.description for events in flows for match in matches(ExcessiveCancels(SMALL), events).values()]
    assert sum("cancels per fill" in description for description in found) >= 20
    assert sum("order events within" in description for description in found) >= 20
    assert sum(len(_unjudged(events)) for events in flows) >= 20
