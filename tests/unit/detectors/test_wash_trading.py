"""WASH_TRADING (round trip): BUY, SELL, BUY in a row on one user+symbol within 1 min (inclusive)
whose largest quantity is at most 1.1x the smallest (inclusive)."""

from __future__ import annotations

import math
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.detectors import Match
from riskengine.detectors.wash_trading import WashTrading, WashTradingConfig
from riskengine.windows.events import WindowEvent


def _events(
    sides: str = "BSB", quantities: tuple[float, ...] = (1.0, 1.05, 1.0), times: tuple[int, ...] = (0, 20_000, 40_000)
) -> list[WindowEvent]:
    side_names = {"B": "BUY", "S": "SELL"}
    return [
        WindowEvent(t, f"W{i}", "U1", side_names[s], q, 150.0, q * 150.0)
        for i, (s, q, t) in enumerate(zip(sides, quantities, times, strict=True))
    ]


def _check(events: list[WindowEvent]) -> Match | None:
    return WashTrading().check(events, len(events) - 1)


def test_buy_sell_buy_of_near_equal_size_matches_with_metrics_and_evidence() -> None:
    match = _check(_events())
    assert match is not None
    assert match.evidence == ("W0", "W1", "W2")
    assert match.timestamp == 40_000
    assert dict(match.metrics) == {
        "quantityRatio": pytest.approx(1.05),
        "quantityRatioThreshold": 1.1,
        "windowMs": 40_000.0,
        "windowThresholdMs": 60_000.0,
    }
    assert "BUY, SELL, BUY" in match.description
    assert 0.6 < match.strength < 1.0


def test_quantity_ratio_of_exactly_1_1_matches_at_base_strength() -> None:
    match = _check(_events(quantities=(10.0, 11.0, 10.0)))
    assert match is not None
    assert match.metrics["quantityRatio"] == pytest.approx(1.1)
    assert match.strength == pytest.approx(0.6)


def test_quantity_ratio_just_above_1_1_is_a_near_miss() -> None:
    assert _check(_events(quantities=(10.0, 11.01, 10.0))) is None
    assert _check(_events(quantities=(10.0, 10.0, 9.09))) is None  # 10 / 9.09 = 1.1001


@pytest.mark.parametrize(("small", "large"), [(0.7, 0.77), (16.83, 18.513), (1.009, 1.1099), (32.41, 35.651)])
def test_quantities_exactly_1_1x_apart_in_decimal_match(small: float, large: float) -> None:
    # For all but the first pair the float ratio is 1.1000000000000003: a float comparison misses them.
    for quantities in ((small, large, small), (large, small, small), (small, small, large)):
        match = _check(_events(quantities=quantities))
        assert match is not None, quantities
        assert match.metrics["quantityRatio"] == large / small
        assert isinstance(match.metrics["quantityRatio"], float)
        assert match.strength == pytest.approx(0.6)


@pytest.mark.parametrize(("small", "large"), [(0.7, 0.7700001), (16.83, math.nextafter(18.513, math.inf))])
def test_quantities_a_hair_beyond_1_1x_do_not_match(small: float, large: float) -> None:
    assert _check(_events(quantities=(small, large, small))) is None


@given(
    st.floats(min_value=1e-6, max_value=1e9),
    st.sampled_from([1.1, 1.05, 1.2, 1.5]),
    st.integers(min_value=-2, max_value=2),
)
def test_the_decision_at_the_threshold_is_the_exact_decimal_decision(small: float, ratio: float, steps: int) -> None:
    exact_product = Decimal(repr(ratio)) * Decimal(repr(small))
    large = float(exact_product)
    for _ in range(abs(steps)):
        large = math.nextafter(large, math.inf if steps > 0 else -math.inf)
    rule = WashTrading(WashTradingConfig(max_quantity_ratio=ratio))
    matched = rule.check(_events(quantities=(small, large, small)), 2) is not None
    assert matched is (Decimal(repr(large)) <= exact_product)


def test_one_minute_window_is_inclusive() -> None:
    assert _check(_events(times=(0, 30_000, 60_000))) is not None
    assert _check(_events(times=(0, 30_000, 60_001))) is None


@pytest.mark.parametrize("sides", ["SBS", "BBB", "SSS", "BSS", "SBB", "BBS"])
def test_other_side_patterns_do_not_match(sides: str) -> None:
    assert _check(_events(sides=sides, quantities=(1.0, 1.0, 1.0))) is None


def test_only_the_three_events_ending_at_end_count() -> None:
    events = _events(sides="SBSB", quantities=(1.0, 1.0, 1.0, 1.0), times=(0, 10_000, 20_000, 30_000))
    match = WashTrading().check(events, 3)
    assert match is not None
    assert match.evidence == ("W1", "W2", "W3")
    assert WashTrading().check(events, 2) is None
    assert WashTrading().check(events, 1) is None  # fewer than 3 events end here


def test_strength_grows_as_sizes_get_closer_and_identical_sizes_are_strongest() -> None:
    strengths = []
    for middle in (1.1, 1.08, 1.05, 1.02, 1.0):
        match = _check(_events(quantities=(1.0, middle, 1.0)))
        assert match is not None
        strengths.append(match.strength)
    assert all(a < b for a, b in pairwise(strengths))
    assert strengths[0] == pytest.approx(0.6)
    assert strengths[-1] == pytest.approx(1.0)


def test_configured_thresholds_apply() -> None:
    rule = WashTrading(WashTradingConfig(window_ms=10_000, max_quantity_ratio=1.5))
    events = _events(quantities=(1.0, 1.4, 1.0), times=(0, 5_000, 10_000))
    assert rule.check(events, 2) is not None
    assert rule.check(_events(quantities=(1.0, 1.4, 1.0), times=(0, 5_000, 10_001)), 2) is None


@given(
    st.floats(min_value=0.001, max_value=1e6),
    st.floats(min_value=1.0, max_value=1.09),
    st.floats(min_value=1.0, max_value=1.09),
)
def test_strength_always_within_0_and_1(base: float, f1: float, f2: float) -> None:
    match = _check(_events(quantities=(base, base * f1, base * f2)))
    assert match is not None
    assert 0.6 <= match.strength <= 1.0
