"""LARGE_ORDER: a single trade whose notional reaches its base asset's threshold (inclusive)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.detectors.large_order import LargeOrder, LargeOrderConfig
from riskengine.model import Side, Trade

# (symbol, threshold in USD): per base asset, everything else 50k; a quote asset never counts.
THRESHOLDS = [
    ("BTC/USDT", 500_000.0),
    ("ETH/USDT", 250_000.0),
    ("SOL/USDT", 100_000.0),
    ("ADA/USDT", 50_000.0),
    ("DOT/USDT", 75_000.0),
    ("XRP/USDT", 50_000.0),
    ("ETH/BTC", 250_000.0),
]


def _trade(symbol: str, notional: float, trade_id: str = "T1") -> Trade:
    return Trade(
        trade_id=trade_id,
        user_id="U1",
        customer_id="C1",
        symbol=symbol,
        side=Side.BUY,
        quantity=2.0,
        price=notional / 2,
        notional=notional,
        timestamp=1_000,
        exchange="BINANCE",
        country=None,
        counterparty_user_id=None,
        record={},
    )


@pytest.mark.parametrize(("symbol", "threshold"), THRESHOLDS)
def test_exactly_at_the_threshold_matches_with_base_strength(symbol: str, threshold: float) -> None:
    match = LargeOrder().check(_trade(symbol, threshold))
    assert match is not None
    assert match.evidence == ("T1",)
    assert match.timestamp == 1_000
    assert dict(match.metrics) == {"notionalUsd": threshold, "thresholdUsd": threshold}
    assert match.strength == pytest.approx(0.35)


@pytest.mark.parametrize(("symbol", "threshold"), THRESHOLDS)
def test_just_below_the_threshold_is_a_near_miss(symbol: str, threshold: float) -> None:
    assert LargeOrder().check(_trade(symbol, threshold - 0.01)) is None


def test_a_large_order_describes_itself() -> None:
    match = LargeOrder().check(_trade("BTC/USDT", 1_250_000.0, trade_id="BIG"))
    assert match is not None
    assert match.evidence == ("BIG",)
    assert dict(match.metrics) == {"notionalUsd": 1_250_000.0, "thresholdUsd": 500_000.0}
    assert "BTC/USDT" in match.description
    assert "BINANCE" in match.description
    assert "$1,250,000" in match.description


def test_strength_grows_with_the_multiple_of_the_threshold_and_saturates_at_10x() -> None:
    rule = LargeOrder()
    strengths = []
    for multiple in (1.0, 1.01, 1.5, 2.0, 5.0, 9.9):
        match = rule.check(_trade("SOL/USDT", 100_000.0 * multiple))
        assert match is not None
        strengths.append(match.strength)
    assert strengths == sorted(strengths)
    assert len(set(strengths)) == len(strengths), "strength must strictly grow below saturation"
    assert strengths[0] == pytest.approx(0.35)
    assert all(0.35 <= s < 1.0 for s in strengths)
    for multiple in (10.0, 50.0, 1e6):
        match = rule.check(_trade("SOL/USDT", 100_000.0 * multiple))
        assert match is not None
        assert match.strength == pytest.approx(1.0)


@given(st.floats(min_value=50_000.0, max_value=1e15, allow_nan=False))
def test_strength_always_within_0_and_1(notional: float) -> None:
    match = LargeOrder().check(_trade("XRP/USDT", notional))
    assert match is not None
    assert 0.0 <= match.strength <= 1.0


def test_configured_thresholds_replace_the_defaults() -> None:
    config = LargeOrderConfig(thresholds_usd={"BTC": 1_000_000.0}, default_threshold_usd=10.0)
    rule = LargeOrder(config)
    assert rule.check(_trade("BTC/USDT", 999_999.0)) is None
    assert rule.check(_trade("BTC/USDT", 1_000_000.0)) is not None
    assert rule.check(_trade("XRP/USDT", 9.99)) is None
    match = rule.check(_trade("XRP/USDT", 10.0))
    assert match is not None
    assert match.metrics["thresholdUsd"] == 10.0


def test_identity() -> None:
    rule = LargeOrder()
    assert (rule.name, rule.pattern, rule.rule_id) == ("LARGE_ORDER", "LARGE_ORDER", "LARGE_ORDER@1")
