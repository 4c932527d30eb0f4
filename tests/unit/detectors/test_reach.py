"""within_reach and reach_back: the positions a span of event time covers after or before an event."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskengine.detectors.base import reach_back, within_reach
from riskengine.windows.events import WindowEvent


def _at(*stamps: int) -> list[WindowEvent]:
    return [WindowEvent(at, f"e{i}", "U1", "BUY", 1.0, 1.0, 1.0) for i, at in enumerate(stamps)]


def test_reach_back_finds_where_a_window_ending_at_an_event_starts() -> None:
    events = _at(0, 10, 10, 20, 30)
    assert reach_back(events, 4, 20) == 1  # both events at 10 are within 20 ms of 30: inclusive
    assert reach_back(events, 4, 19) == 3
    assert reach_back(events, 4, 0) == 4
    assert reach_back(events, 2, 1_000) == 0
    assert reach_back(events, 4, 1_000, oldest=2) == 2  # never before what the window is sure to hold


def test_within_reach_finds_where_a_window_starting_at_an_event_ends() -> None:
    events = _at(0, 10, 10, 20, 30)
    assert within_reach(events, 0, 10) == 2
    assert within_reach(events, 0, 9) == 0
    assert within_reach(events, 3, 1_000) == 4


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1).map(sorted), st.data())
def test_reach_back_is_the_first_position_within_the_span(stamps: list[int], data: st.DataObject) -> None:
    events = _at(*stamps)
    end = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
    span = data.draw(st.integers(min_value=0, max_value=120))
    start = reach_back(events, end, span)
    assert all(events[end].timestamp - e.timestamp <= span for e in events[start : end + 1])
    assert start == 0 or events[end].timestamp - events[start - 1].timestamp > span
