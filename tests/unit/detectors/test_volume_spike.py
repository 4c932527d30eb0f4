"""VOLUME_SPIKE: 3 trades of one user in a row within 2 min (inclusive), the first > $1000,
each strictly more than 1.5x the previous."""

from __future__ import annotations

import math
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.detectors import Match
from riskengine.detectors.volume_spike import VolumeSpike, VolumeSpikeConfig
from riskengine.windows.events import WindowEvent


def _events(*notionals: float, spacing_ms: int = 30_000) -> list[WindowEvent]:
    return [WindowEvent(i * spacing_ms, f"V{i}", "U1", "BUY", n / 100.0, 100.0, n) for i, n in enumerate(notionals)]


def _check(events: list[WindowEvent], end: int | None = None) -> Match | None:
    return VolumeSpike().check(events, len(events) - 1 if end is None else end)


def test_escalating_trades_match_with_metrics_and_evidence() -> None:
    match = VolumeSpike().check(_events(2_000.0, 3_100.0, 4_700.0), 2)
    assert match is not None
    assert match.evidence == ("V0", "V1", "V2")
    assert match.timestamp == 60_000
    assert dict(match.metrics) == {
        "firstNotionalUsd": 2_000.0,
        "lastNotionalUsd": 4_700.0,
        "growth": pytest.approx(2.35),
        "minStepGrowthThreshold": 1.5,
        "windowMs": 60_000.0,
        "windowThresholdMs": 120_000.0,
    }
    assert "2.4x" in match.description or "2.3x" in match.description
    assert 0.3 <= match.strength <= 1.0


def test_first_notional_must_be_strictly_above_1000() -> None:
    assert _check(_events(1_000.0, 1_600.0, 2_500.0)) is None
    assert _check(_events(1_000.01, 1_600.0, 2_500.0)) is not None


def test_each_step_must_be_strictly_more_than_1_5x() -> None:
    # Exactly 1.5x (second step, then first step) is not enough.
    assert _check(_events(2_000.0, 3_100.0, 4_650.0)) is None
    assert _check(_events(2_000.0, 3_000.0, 4_600.0)) is None
    # A hair above 1.5x is.
    assert _check(_events(2_000.0, 3_000.01, 4_600.0)) is not None
    assert _check(_events(2_000.0, 3_100.0, 4_650.01)) is not None


# (x, exactly 1.5x in decimal); in floats 1.5 * 1000.01 is 1500.0149999999999 and 1.5 * 1600.1 is
# 2400.1499999999996, so a float comparison takes the second number for more than 1.5x the first.
FIRST_STEPS = [(1_000.01, 1_500.015), (1_000.05, 1_500.075), (2_000.0, 3_000.0)]
LAST_STEPS = [(1_600.1, 2_400.15), (1_600.02, 2_400.03), (2_000.0, 3_000.0)]


@pytest.mark.parametrize(("earlier", "exactly_1_5x"), FIRST_STEPS)
def test_a_first_step_of_exactly_1_5x_is_not_a_spike_and_a_hair_more_is(earlier: float, exactly_1_5x: float) -> None:
    assert _check(_events(earlier, exactly_1_5x, 10_000.0)) is None
    assert _check(_events(earlier, math.nextafter(exactly_1_5x, math.inf), 10_000.0)) is not None


@pytest.mark.parametrize(("earlier", "exactly_1_5x"), LAST_STEPS)
def test_a_last_step_of_exactly_1_5x_is_not_a_spike_and_a_hair_more_is(earlier: float, exactly_1_5x: float) -> None:
    assert _check(_events(1_000.01, earlier, exactly_1_5x)) is None
    assert _check(_events(1_000.01, earlier, math.nextafter(exactly_1_5x, math.inf))) is not None


@given(
    st.floats(min_value=1_000.01, max_value=1e9),
    st.sampled_from([1.5, 1.1, 2.0, 1.25, 3.3]),
    st.integers(min_value=-2, max_value=2),
)
def test_the_decision_at_the_threshold_is_the_exact_decimal_decision(first: float, factor: float, steps: int) -> None:
    exact_product = Decimal(repr(factor)) * Decimal(repr(first))
    second = float(exact_product)
    for _ in range(abs(steps)):
        second = math.nextafter(second, math.inf if steps > 0 else -math.inf)
    rule = VolumeSpike(VolumeSpikeConfig(trades=2, growth_factor=factor))
    matched = rule.check(_events(first, second), 1) is not None
    assert matched is (Decimal(repr(second)) > exact_product)


def test_window_of_two_minutes_is_inclusive() -> None:
    assert _check(_events(2_000.0, 3_100.0, 4_700.0, spacing_ms=60_000)) is not None
    late_third = _events(2_000.0, 3_100.0, 4_700.0, spacing_ms=60_000)
    late_third[2] = late_third[2]._replace(timestamp=120_001)
    assert _check(late_third) is None


def test_a_dip_in_the_middle_breaks_the_run() -> None:
    assert _check(_events(2_000.0, 5_000.0, 4_000.0)) is None
    assert _check(_events(2_000.0, 2_500.0, 9_000.0)) is None


def test_only_the_three_events_ending_at_end_count() -> None:
    events = _events(5_000.0, 2_000.0, 3_100.0, 4_700.0)
    match = VolumeSpike().check(events, 3)
    assert match is not None
    assert match.evidence == ("V1", "V2", "V3")
    assert VolumeSpike().check(events, 2) is None  # 5000 -> 2000 -> 3100 is no escalation
    assert VolumeSpike().check(events, 1) is None  # fewer than 3 events end here
    assert VolumeSpike().check(events, 0) is None


def test_strength_grows_with_the_growth_beyond_the_threshold_and_saturates() -> None:
    # Growth at the threshold is 1.5 x 1.5 = 2.25; strength saturates at 10x that (22.5).
    runs = [
        (2_000.0, 3_000.01, 4_500.02),  # just past the threshold
        (2_000.0, 4_000.0, 8_000.0),
        (2_000.0, 6_000.0, 18_000.0),
        (2_000.0, 6_000.0, 40_000.0),
    ]
    strengths = []
    for run in runs:
        match = _check(_events(*run))
        assert match is not None
        strengths.append(match.strength)
    assert strengths[0] == pytest.approx(0.3, abs=1e-3)
    assert all(a < b for a, b in pairwise(strengths))
    saturated = _check(_events(2_000.0, 20_000.0, 200_000.0))
    assert saturated is not None
    assert saturated.strength == pytest.approx(1.0)


@given(
    st.floats(min_value=1_000.01, max_value=1e9),
    st.floats(min_value=1.5001, max_value=100.0),
    st.floats(min_value=1.5001, max_value=100.0),
)
def test_strength_always_within_0_and_1(first: float, step1: float, step2: float) -> None:
    match = _check(_events(first, first * step1, first * step1 * step2))
    assert match is not None
    assert 0.0 <= match.strength <= 1.0
