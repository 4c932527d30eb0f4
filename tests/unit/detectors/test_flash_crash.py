"""FLASH_CRASH: 10 or more SELLs in a row on one symbol+exchange within 5 min (inclusive)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.detectors import Match
from riskengine.detectors.flash_crash import FlashCrash
from riskengine.windows.events import WindowEvent


def _sells(
    count: int, *, spacing_ms: int = 10_000, start_price: float = 100.0, step: float = -0.1, sellers: int | None = None
) -> list[WindowEvent]:
    """``count`` SELLs, one every ``spacing_ms``, the price moving by ``step`` each time."""
    sellers = sellers or count
    return [
        WindowEvent(
            i * spacing_ms,
            f"F{i:02d}",
            f"U{i % sellers}",
            "SELL",
            2.0,
            start_price + i * step,
            2.0 * (start_price + i * step),
        )
        for i in range(count)
    ]


def _check(events: list[WindowEvent], end: int | None = None) -> Match | None:
    return FlashCrash().check(events, len(events) - 1 if end is None else end)


def test_ten_sells_match_with_metrics_and_evidence() -> None:
    events = _sells(10, sellers=3, step=-1.0)  # 100 -> 91
    match = _check(events)
    assert match is not None
    assert match.evidence == tuple(f"F{i:02d}" for i in range(10))
    assert match.timestamp == 90_000
    assert dict(match.metrics) == {
        "consecutiveSells": 10.0,
        "consecutiveSellsThreshold": 10.0,
        "priceDropPct": pytest.approx(9.0),
        "distinctSellers": 3.0,
        "windowMs": 90_000.0,
        "windowThresholdMs": 300_000.0,
        "soldNotionalUsd": pytest.approx(sum(e.notional for e in events)),
    }
    assert "10 SELLs in a row from 3 sellers" in match.description
    assert 0.5 <= match.strength <= 1.0


def test_nine_sells_are_a_near_miss() -> None:
    events = _sells(9)
    assert all(_check(events, end) is None for end in range(9))


def test_a_buy_anywhere_in_the_last_ten_breaks_the_run() -> None:
    for position in range(10):
        events = _sells(10)
        events[position] = events[position]._replace(side="BUY")
        assert _check(events) is None, position


def test_five_minute_window_is_inclusive() -> None:
    events = _sells(10)
    events[-1] = events[-1]._replace(timestamp=300_000)
    assert _check(events) is not None
    events[-1] = events[-1]._replace(timestamp=300_001)
    assert _check(events) is None


def test_every_end_of_a_longer_run_matches_on_its_last_ten() -> None:
    events = _sells(15)
    for end in range(9, 15):
        match = _check(events, end)
        assert match is not None
        assert match.evidence == tuple(f"F{i:02d}" for i in range(end - 9, end + 1))
    assert _check(events, 8) is None


def test_strength_grows_with_the_price_drop_and_saturates() -> None:
    # base 0.5 up to a 1% drop (the reference), 1.0 from a 10% drop.
    strengths = []
    for total_drop in (0.0, 1.0, 2.0, 5.0, 9.0):
        match = _check(_sells(10, step=-total_drop / 9))
        assert match is not None
        strengths.append(match.strength)
    assert strengths[0] == pytest.approx(0.5)
    assert strengths[1] == pytest.approx(0.5)
    assert all(a < b for a, b in pairwise(strengths[1:]))
    for total_drop in (10.0, 50.0):
        match = _check(_sells(10, step=-total_drop / 9))
        assert match is not None
        assert match.strength == pytest.approx(1.0)


def test_a_rising_price_still_matches_at_base_strength() -> None:
    match = _check(_sells(10, step=+1.0))
    assert match is not None
    assert match.metrics["priceDropPct"] == 0.0
    assert match.strength == pytest.approx(0.5)


@given(st.floats(min_value=-10.0, max_value=11.0), st.integers(min_value=0, max_value=33_333))
def test_strength_always_within_0_and_1(step: float, spacing_ms: int) -> None:
    match = _check(_sells(10, step=step, spacing_ms=spacing_ms))
    assert match is not None
    assert 0.0 <= match.strength <= 1.0
