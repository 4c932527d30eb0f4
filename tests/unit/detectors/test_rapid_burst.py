"""RAPID_BURST: more than 20 trades of one user within 10 s, i.e. 21 trades spanning <= 10,000 ms."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskengine.detectors import Match
from riskengine.detectors.rapid_burst import RapidBurst, RapidBurstConfig
from riskengine.windows.events import WindowEvent


def _burst(count: int, span_ms: int) -> list[WindowEvent]:
    """``count`` trades spread evenly so that the first and last are ``span_ms`` apart."""
    return [
        WindowEvent(i * span_ms // max(count - 1, 1), f"R{i:02d}", "U1", "BUY", 1.0, 10.0, 10.0) for i in range(count)
    ]


def _check(events: list[WindowEvent], end: int | None = None) -> Match | None:
    return RapidBurst().check(events, len(events) - 1 if end is None else end)


def test_21_trades_spanning_exactly_10_s_match_with_metrics_and_evidence() -> None:
    events = _burst(21, 10_000)
    assert events[-1].timestamp - events[0].timestamp == 10_000
    match = _check(events)
    assert match is not None
    assert match.evidence == tuple(f"R{i:02d}" for i in range(21))
    assert match.timestamp == 10_000
    assert dict(match.metrics) == {
        "tradeCount": 21.0,
        "tradeCountThreshold": 20.0,
        "windowMs": 10_000.0,
        "windowThresholdMs": 10_000.0,
    }
    assert "21 trades within 10.0 s" in match.description
    assert 0.0 <= match.strength <= 1.0


def test_21_trades_spanning_10_001_ms_are_a_near_miss() -> None:
    events = _burst(21, 10_000)
    events[-1] = events[-1]._replace(timestamp=10_001)
    assert _check(events) is None


def test_20_trades_are_not_more_than_20() -> None:
    events = _burst(20, 1_000)
    assert all(_check(events, end) is None for end in range(20))


def test_the_21_trades_ending_at_end_are_the_evidence() -> None:
    events = _burst(30, 5_000)
    first = _check(events, 20)
    last = _check(events, 29)
    assert first is not None
    assert last is not None
    assert first.evidence == tuple(f"R{i:02d}" for i in range(21))
    assert last.evidence == tuple(f"R{i:02d}" for i in range(9, 30))
    assert _check(events, 19) is None


def test_a_slow_start_does_not_count() -> None:
    # 22 trades: the first is 20 s earlier, the last 21 fit in 10 s -> matches only at the end.
    events = [WindowEvent(-20_000, "R-early", "U1", "BUY", 1.0, 10.0, 10.0), *_burst(21, 10_000)]
    assert _check(events, 20) is None
    match = _check(events, 21)
    assert match is not None
    assert "R-early" not in match.evidence


def test_configured_limits_apply() -> None:
    rule = RapidBurst(RapidBurstConfig(max_trades=5, window_ms=1_000))
    assert rule.length == 6
    assert rule.check(_burst(6, 1_000), 5) is not None
    assert rule.check(_burst(6, 1_001), 5) is None
    assert rule.check(_burst(5, 100), 4) is None


@given(st.integers(min_value=0, max_value=10_000))
def test_strength_always_within_0_and_1(span_ms: int) -> None:
    match = _check(_burst(21, span_ms))
    assert match is not None
    assert 0.0 <= match.strength <= 1.0


def test_strength_grows_with_how_far_past_the_threshold_the_burst_is() -> None:
    at_threshold = _check(_burst(21, 10_000))  # 21 trades in 10 s: just past the limit
    ten_times_faster = _check(_burst(21, 1_000))  # the same 21 trades in 1 s
    assert at_threshold is not None
    assert ten_times_faster is not None
    assert ten_times_faster.strength > at_threshold.strength
