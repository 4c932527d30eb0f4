"""RiskScorer: explained contributions, level bands, the user's z-score baseline, market impact,
compliance flags and mitigation actions."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.errors import ConfigurationError
from riskengine.model import RiskLevel, Side, Trade
from riskengine.scoring import (
    RiskScorer,
    ScoreInputs,
    ScoringConfig,
    exact_contributions,
    level_for_score,
    severity_for_strength,
)
from riskengine.windows.events import WindowEvent

MINUTE = 60_000
T0 = 1_000 * MINUTE + 30_000  # half-way through volume bucket 1000
DAY = 86_400_000


def _trade(
    notional: float = 1_000.0, *, country: str | None = None, counterparty: str | None = None, timestamp: int = T0
) -> Trade:
    return Trade(
        trade_id="T",
        user_id="U1",
        customer_id="C1",
        symbol="ETH/USDT",
        side=Side.BUY,
        quantity=1.0,
        price=notional,
        notional=notional,
        timestamp=timestamp,
        exchange="BINANCE",
        country=country,
        counterparty_user_id=counterparty,
        record={},
    )


def _history(*notionals: float, end: int = T0) -> list[WindowEvent]:
    """Earlier trades of the user, one per second, the last one a second before ``end``."""
    count = len(notionals)
    return [WindowEvent(end - (count - i) * 1_000, f"H{i}", "U1", "BUY", 1.0, n, n) for i, n in enumerate(notionals)]


def _score(
    trade: Trade | None = None,
    *,
    patterns: Mapping[str, float] | None = None,
    previous: Sequence[WindowEvent] = (),
    buckets: Mapping[int, float] | None = None,
    late: bool = False,
    config: ScoringConfig | None = None,
    order_book: float = 0.0,
) -> dict[str, Any]:
    """Score ``trade`` against ``previous`` user trades and market ``buckets`` (bucket -> USD), as the harness would."""
    scorer, trade = RiskScorer(config), trade or _trade()
    cents = sum(round((buckets or {}).get(bucket, 0.0) * 100) for bucket in scorer.volume_window(trade.timestamp))
    inputs = ScoreInputs(trade, patterns or {}, scorer.baseline(trade, previous), cents, late, order_book)
    return scorer.score(inputs)


def _contributions(scored: Mapping[str, Any]) -> dict[str, float]:
    contributions = scored["scoreContributions"]
    assert isinstance(contributions, dict)
    return contributions


# --- contributions and bands ---------------------------------------------------------------


def test_a_plain_trade_scores_zero_and_low() -> None:
    scored = _score()
    assert scored["riskScore"] == 0.0
    assert scored["finalRiskLevel"] == "LOW"
    assert _contributions(scored) == {
        "behaviour": 0.0,
        "orderBook": 0.0,
        "volume": 0.0,
        "compliance": 0.0,
        "marketImpact": 0.0,
    }
    assert scored["complianceFlags"] == []
    assert scored["riskMitigationActions"] == []
    assert scored["lateEvent"] is False
    assert _score(late=True)["lateEvent"] is True


def test_contributions_are_weight_times_component_and_sum_to_the_score() -> None:
    previous = _history(1_000, 1_100, 900, 1_000, 1_050, 950)
    scored = _score(
        _trade(3_000.0, country="IR"),
        patterns={"LARGE_ORDER": 0.4, "VOLUME_SPIKE": 0.5},
        previous=previous,
        buckets={998: 100_000.0},
    )
    contributions = _contributions(scored)
    assert contributions["behaviour"] == pytest.approx(0.6 * (1 - 0.6 * 0.5))
    assert contributions["compliance"] == pytest.approx(0.15)
    assert contributions["marketImpact"] == pytest.approx(0.1 * (3_000 / 100_000) / 0.05)
    assert contributions["volume"] == pytest.approx(0.15)  # 3x a tight baseline: z saturates
    assert scored["riskScore"] == sum(contributions.values())
    assert scored["riskScore"] == pytest.approx(0.42 + 0.15 + 0.15 + 0.06, abs=1e-6)
    assert scored["finalRiskLevel"] == "CRITICAL"


@given(
    st.dictionaries(
        st.sampled_from(["LARGE_ORDER", "WASH_TRADING", "FLASH_CRASH", "RAPID_BURST", "VOLUME_SPIKE"]),
        st.floats(min_value=0.0, max_value=1.0),
    ),
    st.floats(min_value=0.01, max_value=1e9),
    st.sampled_from([None, "US", "KP"]),
    st.floats(min_value=0.0, max_value=1e9),
)
def test_score_is_within_0_and_1_and_always_the_sum_of_its_contributions(
    patterns: dict[str, float], notional: float, country: str | None, volume: float
) -> None:
    scored = _score(
        _trade(notional, country=country),
        patterns=patterns,
        previous=_history(10.0, 100.0, 1_000.0, 50.0, 500.0),
        buckets={999: volume},
    )
    assert 0.0 <= scored["riskScore"] <= 1.0
    _assert_exact_sum(scored)


def _assert_exact_sum(scored: Mapping[str, Any]) -> None:
    """The serialized contributions add up to the serialized score: as decimals and as doubles in order."""
    wire = json.loads(json.dumps(scored))
    contributions, score = wire["scoreContributions"], wire["riskScore"]
    assert sum(contributions.values()) == score
    assert sum(Decimal(repr(v)) for v in contributions.values()) == Decimal(repr(score))
    assert all(Decimal(repr(v)).as_tuple().exponent >= -6 for v in (*contributions.values(), score))


@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=4, max_size=4))
def test_contributions_sum_exactly_for_any_components(components: list[float]) -> None:
    weights = dict(zip(("behaviour", "volume", "compliance", "marketImpact"), (0.6, 0.15, 0.15, 0.1), strict=True))
    names = list(weights)
    contributions, score = exact_contributions({n: weights[n] * c for n, c in zip(names, components, strict=True)})
    _assert_exact_sum({"scoreContributions": contributions, "riskScore": score})
    assert 0.0 <= score <= 1.0
    for name, component in zip(names, components, strict=True):
        assert abs(contributions[name] - weights[name] * component) < 1e-5


@pytest.mark.parametrize(("a", "b", "total"), [(0.1, 0.2, 0.3), (0.55, 0.15, 0.7)])
def test_a_sum_that_misses_in_doubles_moves_millionths_between_contributions(a: float, b: float, total: float) -> None:
    # 0.1 + 0.2 is 0.30000000000000004 in doubles: millionths move between the two, the total stays.
    assert a + b != total
    contributions, score = exact_contributions({"a": a, "b": b})
    _assert_exact_sum({"scoreContributions": contributions, "riskScore": score})
    assert score == total
    assert contributions != {"a": a, "b": b}
    assert abs(contributions["a"] - a) < 1e-5 and abs(contributions["b"] - b) < 1e-5


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0.0, RiskLevel.LOW),
        (0.299999, RiskLevel.LOW),
        (0.3, RiskLevel.MEDIUM),
        (0.499999, RiskLevel.MEDIUM),
        (0.5, RiskLevel.HIGH),
        (0.699999, RiskLevel.HIGH),
        (0.7, RiskLevel.CRITICAL),
        (1.0, RiskLevel.CRITICAL),
    ],
)
def test_level_bands_at_their_boundaries(score: float, level: RiskLevel) -> None:
    assert level_for_score(score) is level


@pytest.mark.parametrize(
    ("strength", "level"),
    [
        (0.0, "LOW"),
        (0.2499, "LOW"),
        (0.25, "MEDIUM"),
        (0.4999, "MEDIUM"),
        (0.5, "HIGH"),
        (0.7499, "HIGH"),
        (0.75, "CRITICAL"),
        (1.0, "CRITICAL"),
    ],
)
def test_alert_severity_bands(strength: float, level: str) -> None:
    assert severity_for_strength(strength).value == level


@pytest.mark.parametrize(
    ("strength", "score", "level"),
    [(0.5, 0.3, "MEDIUM"), (0.49, 0.294, "LOW"), (5 / 6, 0.5, "HIGH"), (0.83, 0.498, "MEDIUM")],
)
def test_scored_trades_land_in_the_band_of_their_score(strength: float, score: float, level: str) -> None:
    scored = _score(patterns={"RAPID_BURST": strength})
    assert scored["riskScore"] == pytest.approx(score, abs=1e-6)
    assert scored["finalRiskLevel"] == level


def test_a_score_of_exactly_0_7_is_critical() -> None:
    # behaviour 1.0 (0.6) + a high-risk country (0.15) = 0.75; behaviour 0.9166.. + flag = 0.7.
    scored = _score(_trade(country="KP"), patterns={"WASH_TRADING": 11 / 12})
    assert scored["riskScore"] == pytest.approx(0.7, abs=1e-6)
    assert scored["finalRiskLevel"] == "CRITICAL"


def test_two_patterns_compound_but_never_exceed_one() -> None:
    both = _contributions(_score(patterns={"LARGE_ORDER": 0.5, "VOLUME_SPIKE": 0.5}))["behaviour"]
    one = _contributions(_score(patterns={"LARGE_ORDER": 0.5}))["behaviour"]
    assert one == pytest.approx(0.3)
    assert both == pytest.approx(0.6 * 0.75)
    assert _contributions(_score(patterns={"LARGE_ORDER": 1.0, "WASH_TRADING": 1.0}))["behaviour"] == 0.6
    analysis = _score(patterns={"LARGE_ORDER": 0.5, "VOLUME_SPIKE": 0.4})["behavioralAnalysis"]
    assert analysis == {
        "patternCount": 2,
        "maxPatternStrength": 0.5,
        "patternStrengths": {"LARGE_ORDER": 0.5, "VOLUME_SPIKE": 0.4},
    }


# --- volume z-score against the user's own baseline ------------------------------------------


def test_z_score_needs_at_least_five_previous_trades() -> None:
    four = _score(_trade(50_000.0), previous=_history(100, 120, 80, 100))
    assert four["volumeAnalysis"] == {
        "notional": 50_000.0,
        "baselineTrades": 4,
        "baselineMean": None,
        "baselineStd": None,
        "zScore": 0.0,
    }
    assert _contributions(four)["volume"] == 0.0
    five = _score(_trade(50_000.0), previous=_history(100, 120, 80, 100, 100))
    assert five["volumeAnalysis"]["baselineTrades"] == 5
    assert five["volumeAnalysis"]["zScore"] > 4
    assert _contributions(five)["volume"] == pytest.approx(0.15)


def test_z_score_is_computed_on_log_notional_of_the_baseline() -> None:
    sizes = [1_000.0, 2_000.0, 4_000.0, 1_000.0, 2_000.0, 4_000.0]
    logs = [math.log(s) for s in sizes]
    mean = sum(logs) / len(logs)
    std = math.sqrt(sum((v - mean) ** 2 for v in logs) / len(logs))
    notional = 8_000.0
    z = (math.log(notional) - mean) / std
    scored = _score(_trade(notional), previous=_history(*sizes))
    analysis = scored["volumeAnalysis"]
    assert analysis["baselineTrades"] == 6
    assert analysis["baselineMean"] == pytest.approx(math.exp(mean))
    assert analysis["baselineStd"] == pytest.approx(std)
    assert analysis["zScore"] == pytest.approx(z, abs=1e-4)
    assert _contributions(scored)["volume"] == pytest.approx(0.15 * min(1.0, z / 4), abs=1e-6)


def test_a_trade_smaller_than_usual_adds_no_volume_risk() -> None:
    scored = _score(_trade(10.0), previous=_history(1_000, 2_000, 4_000, 1_000, 2_000))
    assert scored["volumeAnalysis"]["zScore"] < 0
    assert _contributions(scored)["volume"] == 0.0


def test_the_spread_has_a_floor_so_a_constant_size_does_not_explode() -> None:
    scored = _score(_trade(1_100.0), previous=_history(*[1_000.0] * 6))
    analysis = scored["volumeAnalysis"]
    assert analysis["baselineStd"] == 0.1
    assert analysis["zScore"] == pytest.approx(math.log(1.1) / 0.1, abs=1e-4)


def test_baseline_is_the_last_20_trades_within_a_day() -> None:
    # 5 huge old trades followed by 20 small ones: only the last 20 count.
    previous = _history(*([1e9] * 5 + [100.0] * 20))
    analysis = _score(_trade(100.0), previous=previous)["volumeAnalysis"]
    assert analysis["baselineTrades"] == 20
    assert analysis["baselineMean"] == pytest.approx(100.0)
    # Trades older than 24 h before this one do not count either.
    stale = [e._replace(timestamp=T0 - DAY - 1) for e in _history(100, 100, 100)]
    analysis = _score(_trade(100.0), previous=[*stale, *_history(100, 100, 100, 100)])["volumeAnalysis"]
    assert analysis["baselineTrades"] == 4
    assert analysis["zScore"] == 0.0
    at_horizon = [e._replace(timestamp=T0 - DAY) for e in _history(100)]
    analysis = _score(_trade(100.0), previous=[*at_horizon, *_history(100, 100, 100, 100)])["volumeAnalysis"]
    assert analysis["baselineTrades"] == 5


def test_min_baseline_trades_is_configurable() -> None:
    config = ScoringConfig(min_baseline_trades=2)
    analysis = _score(_trade(5_000.0), previous=_history(100, 200), config=config)["volumeAnalysis"]
    assert analysis["baselineTrades"] == 2
    assert analysis["zScore"] > 0


# --- market impact from volume buckets -------------------------------------------------------


def test_market_impact_uses_the_five_buckets_before_the_trades_own() -> None:
    buckets = {
        994: 7_000_000.0,  # six minutes back: outside the 5-minute window
        995: 1_000_000.0,  # oldest bucket inside
        999: 1_000_000.0,  # the minute before
        1_000: 5_000_000.0,  # the trade's own (incomplete) bucket: excluded
        1_001: 9_000_000.0,  # later: excluded
    }
    scored = _score(_trade(50_000.0), buckets=buckets)
    assert scored["marketImpactAnalysis"] == {"symbolVolume5m": 2_000_000.0, "impactRatio": 0.025}
    assert _contributions(scored)["marketImpact"] == pytest.approx(0.1 * 0.025 / 0.05)


def test_market_impact_saturates_at_5_percent_of_volume() -> None:
    assert _contributions(_score(_trade(5_000.0), buckets={999: 100_000.0}))["marketImpact"] == pytest.approx(0.1)
    assert _contributions(_score(_trade(50_000.0), buckets={999: 100_000.0}))["marketImpact"] == pytest.approx(0.1)
    assert _contributions(_score(_trade(4_000.0), buckets={999: 100_000.0}))["marketImpact"] == pytest.approx(0.08)


def test_no_market_volume_means_no_impact() -> None:
    scored = _score(_trade(1e6), buckets={1_000: 5e6})
    assert scored["marketImpactAnalysis"] == {"symbolVolume5m": 0.0, "impactRatio": None}
    assert _contributions(scored)["marketImpact"] == 0.0


# --- compliance flags and mitigation actions -------------------------------------------------


@pytest.mark.parametrize(
    ("country", "counterparty", "flags"),
    [
        (None, None, []),
        ("US", "U2", []),
        ("KP", None, ["HIGH_RISK_JURISDICTION"]),
        ("IR", None, ["HIGH_RISK_JURISDICTION"]),
        ("SY", None, ["HIGH_RISK_JURISDICTION"]),
        ("CU", None, ["HIGH_RISK_JURISDICTION"]),
        (None, "U1", ["SELF_MATCHED_COUNTERPARTY"]),
        ("KP", "U1", ["SELF_MATCHED_COUNTERPARTY", "HIGH_RISK_JURISDICTION"]),
    ],
)
def test_compliance_flags(country: str | None, counterparty: str | None, flags: list[str]) -> None:
    scored = _score(_trade(country=country, counterparty=counterparty))
    assert scored["complianceFlags"] == flags
    assert _contributions(scored)["compliance"] == (0.15 if flags else 0.0)


def test_high_risk_countries_are_configurable() -> None:
    config = ScoringConfig(high_risk_countries=frozenset({"RU"}))
    assert _score(_trade(country="RU"), config=config)["complianceFlags"] == ["HIGH_RISK_JURISDICTION"]
    assert _score(_trade(country="KP"), config=config)["complianceFlags"] == []


@pytest.mark.parametrize(
    ("patterns", "country", "actions"),
    [
        ({}, None, []),
        ({"RAPID_BURST": 0.2}, None, ["APPLY_RATE_LIMIT"]),  # 0.12: LOW, only the pattern's action
        ({"VOLUME_SPIKE": 0.5}, None, ["ENHANCED_MONITORING"]),  # MEDIUM: not listed twice
        ({"LARGE_ORDER": 0.9}, None, ["MANUAL_REVIEW_REQUIRED", "VERIFY_SOURCE_OF_FUNDS"]),  # 0.54: HIGH
        (
            {"WASH_TRADING": 1.0, "FLASH_CRASH": 0.3},
            "KP",
            ["MANUAL_REVIEW_REQUIRED", "TRADING_SUSPENSION", "MARKET_SURVEILLANCE_REVIEW", "REPORT_TO_COMPLIANCE"],
        ),
        ({}, "KP", []),  # 0.15: LOW, no pattern
    ],
)
def test_mitigation_actions_follow_the_level_then_the_patterns(
    patterns: dict[str, float], country: str | None, actions: list[str]
) -> None:
    assert _score(_trade(country=country), patterns=patterns)["riskMitigationActions"] == actions


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weights": {"behaviour": 0.5, "volume": 0.15, "compliance": 0.15, "marketImpact": 0.1}},
        {"weights": {"behaviour": 0.6, "volume": 0.4}},
        {"min_baseline_trades": 0},
        {"min_baseline_trades": 21},
        {"volume_window_ms": 90_000},
    ],
)
def test_invalid_scoring_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ScoringConfig(**kwargs)


def test_custom_weights_change_the_contributions() -> None:
    config = ScoringConfig(weights={"behaviour": 0.4, "volume": 0.2, "compliance": 0.3, "marketImpact": 0.1})
    scored = _score(_trade(country="KP"), patterns={"LARGE_ORDER": 1.0}, config=config)
    assert _contributions(scored) == {
        "behaviour": 0.4,
        "orderBook": 0.0,
        "volume": 0.0,
        "compliance": 0.3,
        "marketImpact": 0.0,
    }
    assert scored["riskScore"] == pytest.approx(0.7)
    assert scored["finalRiskLevel"] == "CRITICAL"


def test_an_order_book_signal_alone_lifts_a_trade_out_of_low_and_says_so() -> None:
    scored = _score(order_book=0.6)
    assert _contributions(scored)["orderBook"] == pytest.approx(0.36)
    assert _contributions(scored)["behaviour"] == 0.0
    assert scored["finalRiskLevel"] == "MEDIUM" and scored["riskScore"] == 0.36


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_the_order_book_signal_combines_with_patterns_as_one_more_pattern_would(pattern: float, signal: float) -> None:
    with_signal = _score(patterns={"WASH_TRADING": pattern}, order_book=signal)
    as_pattern = _score(patterns={"WASH_TRADING": pattern, "OTHER": signal})
    contributions = _contributions(with_signal)
    # Each contribution has six decimals and exact_contributions may move up to nine millionths
    # between them so they add up exactly: two contributions against one differ by at most that.
    assert contributions["behaviour"] + contributions["orderBook"] == pytest.approx(
        _contributions(as_pattern)["behaviour"], abs=1e-5
    )
    assert with_signal["riskScore"] == pytest.approx(as_pattern["riskScore"], abs=1e-5)
