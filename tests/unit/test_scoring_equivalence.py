"""RiskScorer.score with its per-trade shortcuts gives, bit for bit, what the plain reference gives."""

from __future__ import annotations

import struct
from typing import Any

import scoring_reference as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.model import Side, Trade
from riskengine.scoring import Baseline, RiskScorer, ScoreInputs, ScoringConfig, exact_contributions

PATTERNS = ["WASH_TRADING", "FLASH_CRASH", "LARGE_ORDER", "RAPID_BURST", "VOLUME_SPIKE", "OTHER"]
UNIT = st.floats(0.0, 1.0)
CONFIGS = [
    ScoringConfig(),
    ScoringConfig(weights={"behaviour": 0.3, "volume": 0.3, "compliance": 0.2, "marketImpact": 0.2}, z_saturation=2.5),
]


def _exact(value: Any) -> Any:
    """``value`` with every float as its bits and every container's order kept."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, dict):
        return ("dict", [(key, _exact(item)) for key, item in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_exact(item) for item in value])
    return (type(value).__name__, value)


@settings(max_examples=2000, deadline=None)
@given(
    config=st.sampled_from(CONFIGS),
    notional=st.floats(1e-6, 1e12),
    strengths=st.dictionaries(st.sampled_from(PATTERNS), UNIT, max_size=4),
    trades=st.integers(0, 20),
    mean=st.floats(-20.0, 30.0),
    std=st.one_of(st.floats(0.0, 5.0), st.just(0.1), st.just(float("nan"))),
    cents=st.one_of(st.integers(-5, 10**16), st.just(0)),
    country=st.sampled_from([None, "DE", "KP", "IR"]),
    counterparty=st.sampled_from([None, "U1", "U2"]),
    late=st.booleans(),
    order_book=st.one_of(st.just(0.0), UNIT),
)
def test_score_is_the_references_score(
    config: ScoringConfig,
    notional: float,
    strengths: dict[str, float],
    trades: int,
    mean: float,
    std: float,
    cents: int,
    country: str | None,
    counterparty: str | None,
    late: bool,
    order_book: float,
) -> None:
    trade = Trade("T", "U1", "C1", "ETH/USDT", Side.BUY, 1.0, notional, notional, 0, "X", country, counterparty, {})
    baseline = Baseline(trades, mean, std)
    new = RiskScorer(config).score(ScoreInputs(trade, strengths, baseline, cents, late, order_book))
    old = reference.RiskScorer(config).score(reference.ScoreInputs(trade, strengths, baseline, cents, late, order_book))
    assert _exact(new) == _exact(old)


@settings(max_examples=2000, deadline=None)
@given(weighted=st.lists(st.one_of(st.just(0.0), st.just(-0.0), st.floats(0.0, 0.6)), min_size=4, max_size=4))
def test_exact_contributions_are_the_references(weighted: list[float]) -> None:
    named = dict(zip(["behaviour", "volume", "compliance", "marketImpact"], weighted, strict=True))
    assert _exact(exact_contributions(named)) == _exact(reference.exact_contributions(named))
