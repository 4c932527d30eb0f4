"""The risk score: a weighted sum of four components, each within 0..1.

    riskScore = 0.6 * behaviour + 0.15 * volume + 0.15 * compliance + 0.1 * marketImpact

- behaviour: 1 - prod(1 - strength) over the patterns this trade triggered (two medium
  patterns together weigh more than either alone, never more than 1) and the trade's order-book
  signal (``orderBook``: the trade is the opposite leg of an open order sized like a spoof's bait);
  ``scoreContributions`` shows the signal's share as ``orderBook``, the patterns' as ``behaviour``;
- volume: the z-score of log(notional) against the user's own previous trades (up to
  ``baseline_trades`` of them, at least ``min_baseline_trades``), ``z / z_saturation`` clipped;
- compliance: the heaviest compliance flag (self-matched counterparty, high-risk country);
- marketImpact: notional / the market's (symbol on exchange) volume over the previous
  ``volume_window_ms``, divided by ``impact_saturation`` and clipped.

``scoreContributions`` holds weight x component per component, each with six decimals; they add
up to ``riskScore`` exactly (as decimals, and as doubles added in their listed order), so every
score explains itself.

The scorer is a pure function of its inputs: the harness measures the baseline and the market
volume from the windows as they were when the trade arrived, and the ledger keeps them so a
redelivered trade is scored identically.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from riskengine.errors import ConfigurationError
from riskengine.model import RiskLevel, Trade
from riskengine.scoring.levels import level_for_score
from riskengine.windows.events import WindowEvent

DEFAULT_WEIGHTS = MappingProxyType({"behaviour": 0.6, "volume": 0.15, "compliance": 0.15, "marketImpact": 0.1})
LEVEL_ACTIONS = {
    RiskLevel.CRITICAL: ("MANUAL_REVIEW_REQUIRED", "TRADING_SUSPENSION"),
    RiskLevel.HIGH: ("MANUAL_REVIEW_REQUIRED",),
    RiskLevel.MEDIUM: ("ENHANCED_MONITORING",),
    RiskLevel.LOW: (),
}
PATTERN_ACTIONS = {
    "WASH_TRADING": "REPORT_TO_COMPLIANCE",
    "FLASH_CRASH": "MARKET_SURVEILLANCE_REVIEW",
    "LARGE_ORDER": "VERIFY_SOURCE_OF_FUNDS",
    "RAPID_BURST": "APPLY_RATE_LIMIT",
    "VOLUME_SPIKE": "ENHANCED_MONITORING",
}
COMPLIANCE_FLAGS = {"SELF_MATCHED_COUNTERPARTY": 1.0, "HIGH_RISK_JURISDICTION": 1.0}


@dataclass(frozen=True)
class ScoringConfig:
    weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    baseline_trades: int = 20
    min_baseline_trades: int = 5
    baseline_horizon_ms: int = 86_400_000
    z_saturation: float = 4.0
    volume_window_ms: int = 300_000
    volume_bucket_ms: int = 60_000
    impact_saturation: float = 0.05
    high_risk_countries: frozenset[str] = frozenset({"KP", "IR", "SY", "CU"})

    def __post_init__(self) -> None:
        if set(self.weights) != set(DEFAULT_WEIGHTS) or not math.isclose(sum(self.weights.values()), 1.0):
            raise ConfigurationError(
                f"scoring weights must cover {sorted(DEFAULT_WEIGHTS)} and sum to 1, got {dict(self.weights)}"
            )
        if not 1 <= self.min_baseline_trades <= self.baseline_trades:
            raise ConfigurationError("need 1 <= min_baseline_trades <= baseline_trades")
        if self.volume_window_ms % self.volume_bucket_ms:
            raise ConfigurationError("volume_window_ms must be a whole number of volume buckets")


class Baseline(NamedTuple):
    """A user's recent trade sizes: how many, and the mean and spread of their log notionals."""

    trades: int
    mean: float
    std: float


NO_BASELINE = Baseline(0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ScoreInputs:
    """What the harness gathered for one trade (all of it kept in the trade's ledger entry)."""

    trade: Trade
    pattern_strengths: Mapping[str, float]
    baseline: Baseline = NO_BASELINE
    market_volume_cents: int = 0  # the market's notional over the previous volume window
    late: bool = False
    order_book: float = 0.0  # how strongly the trade looks like a leg of order-book abuse (0..1)


class RiskScorer:
    def __init__(self, config: ScoringConfig | None = None) -> None:
        self.config = config or ScoringConfig()
        weights = self.config.weights
        # Per trade, the weights in the order of the components (that of DEFAULT_WEIGHTS).
        self._weights = (weights["behaviour"], weights["volume"], weights["compliance"], weights["marketImpact"])

    def score(self, inputs: ScoreInputs) -> dict[str, object]:
        """The scoring part of a RiskAnalyzedTrade record (camelCase, Avro field names)."""
        trade = inputs.trade
        strengths = inputs.pattern_strengths
        volume, volume_analysis = self._volume(trade, inputs.baseline)
        impact, impact_analysis = self._market_impact(trade, inputs.market_volume_cents / 100)
        flags = self._compliance_flags(trade)
        # Most trades have no pattern and no flag: their components are plain zeros.
        behaviour = 1.0 - math.prod([1.0 - s for s in strengths.values()]) if strengths else 0.0
        # Order-book behaviour is behaviour: the signal joins the patterns' combination, and its
        # share of the combined component is shown on its own.
        order_book = (1.0 - behaviour) * inputs.order_book if inputs.order_book else 0.0
        compliance = max([COMPLIANCE_FLAGS[f] for f in flags]) if flags else 0.0
        w_behaviour, w_volume, w_compliance, w_impact = self._weights
        contributions, score = exact_contributions(
            {
                "behaviour": w_behaviour * behaviour,
                "orderBook": w_behaviour * order_book,
                "volume": w_volume * volume,
                "compliance": w_compliance * compliance,
                "marketImpact": w_impact * impact,
            }
        )
        level = level_for_score(score)
        return {
            "riskScore": score,
            "finalRiskLevel": level.value,
            "volumeAnalysis": volume_analysis,
            "behavioralAnalysis": {
                "patternCount": len(strengths),
                "maxPatternStrength": max(strengths.values()) if strengths else 0.0,
                "patternStrengths": dict(strengths),
            },
            "marketImpactAnalysis": impact_analysis,
            "complianceFlags": flags,
            "riskMitigationActions": _actions(level, strengths) if strengths else list(LEVEL_ACTIONS[level]),
            "scoreContributions": contributions,
            "lateEvent": inputs.late,
        }

    def baseline(self, trade: Trade, previous: Sequence[WindowEvent]) -> Baseline:
        """The user's baseline before ``trade``: up to ``baseline_trades`` previous trades within the horizon."""
        horizon = trade.timestamp - self.config.baseline_horizon_ms
        sizes = [math.log(e.notional) for e in previous[-self.config.baseline_trades :] if e.timestamp >= horizon]
        if not sizes:
            return NO_BASELINE
        mean = sum(sizes) / len(sizes)
        return Baseline(len(sizes), mean, math.sqrt(sum((s - mean) ** 2 for s in sizes) / len(sizes)))

    def _volume(self, trade: Trade, baseline: Baseline) -> tuple[float, dict[str, object]]:
        if baseline.trades < self.config.min_baseline_trades:
            return 0.0, {
                "notional": trade.notional,
                "baselineTrades": baseline.trades,
                "baselineMean": None,
                "baselineStd": None,
                "zScore": 0.0,
            }
        # A floor on the spread keeps a user who always trades the same size from turning a
        # tiny change into a huge z-score. (Conditionals below are max and min, NaN included.)
        std = 0.1 if baseline.std < 0.1 else baseline.std
        z = (math.log(trade.notional) - baseline.mean) / std
        analysis = {
            "notional": trade.notional,
            "baselineTrades": baseline.trades,
            "baselineMean": math.exp(baseline.mean),
            "baselineStd": std,
            "zScore": round(z, 4),
        }
        volume = (z if z > 0.0 else 0.0) / self.config.z_saturation
        return (volume if volume < 1.0 else 1.0), analysis

    def _market_impact(self, trade: Trade, volume: float) -> tuple[float, dict[str, object]]:
        if volume <= 0:
            return 0.0, {"symbolVolume5m": 0.0, "impactRatio": None}
        ratio = trade.notional / volume
        analysis = {"symbolVolume5m": round(volume, 2), "impactRatio": round(ratio, 6)}
        impact = ratio / self.config.impact_saturation
        return (impact if impact < 1.0 else 1.0), analysis  # min(1.0, impact), NaN included

    def volume_window(self, timestamp: int) -> range:
        """The volume buckets a trade at ``timestamp`` is measured against: the full minutes before its own."""
        current = timestamp // self.config.volume_bucket_ms
        return range(current - self.config.volume_window_ms // self.config.volume_bucket_ms, current)

    def _compliance_flags(self, trade: Trade) -> list[str]:
        flags = []
        if trade.counterparty_user_id is not None and trade.counterparty_user_id == trade.user_id:
            flags.append("SELF_MATCHED_COUNTERPARTY")
        if trade.country in self.config.high_risk_countries:
            flags.append("HIGH_RISK_JURISDICTION")
        return flags


def exact_contributions(weighted: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """Contributions with six decimals and their sum, exact as decimals and as doubles.

    Rounding each contribution to six decimals makes their decimal sum exact, but doubles added
    one by one can still miss it by one unit in the last place (0.55 + 0.15). When they do, a few
    millionths move from one non-zero contribution to another (the decimal total, hence the
    level, stays the same) or, failing that, one of them moves, until the decimal sum and the
    doubles added in order agree. Should no such move exist (about one score in a million), the
    score is the doubles' sum in order, which then has more than six decimals.
    """
    # round(0.0, 6) is 0.0 (and -0.0 stays -0.0): zeros, the usual contributions, need no rounding.
    contributions = {name: round(value, 6) if value else value for name, value in weighted.items()}
    total = _float_sum(contributions)
    if total == round(total, 6) <= 1:
        return contributions, total  # the usual case: the doubles' sum is already exact
    if round(total, 6) > 1:  # weights sum to 1, so only rounding can overshoot
        largest = max(contributions, key=contributions.__getitem__)
        contributions[largest] = round(contributions[largest] - (round(total, 6) - 1), 6)
    for candidate in _nearby(contributions):
        if _agrees(candidate):
            return candidate, _float_sum(candidate)
    return contributions, _float_sum(contributions)


def _nearby(contributions: dict[str, float]) -> Iterator[dict[str, float]]:
    """``contributions`` itself, then versions with up to nine millionths moved, the least change first:
    between two contributions (the total stays), then on one, then on two independently."""
    yield contributions
    movable = sorted((n for n, v in contributions.items() if v), key=contributions.__getitem__, reverse=True)
    micros = range(1, 10)
    for k in micros:
        for giver, taker in itertools.permutations(movable, 2):
            yield from _moved(contributions, {giver: -k, taker: k})
    for k in micros:
        for name in movable:
            yield from _moved(contributions, {name: -k})
            yield from _moved(contributions, {name: k})
    steps = sorted(
        ((a, b) for a in range(-9, 10) for b in range(-9, 10) if a and b), key=lambda s: abs(s[0]) + abs(s[1])
    )
    for a, b in steps:
        for first, second in itertools.combinations(movable, 2):
            yield from _moved(contributions, {first: a, second: b})


def _moved(contributions: dict[str, float], micros: Mapping[str, int]) -> Iterator[dict[str, float]]:
    """``contributions`` with the given millionths added, if none goes below 0 and the total stays within 1."""
    candidate = contributions | {name: round(contributions[name] + k / 1_000_000, 6) for name, k in micros.items()}
    if min(candidate.values()) >= 0 and round(_float_sum(candidate), 6) <= 1:
        yield candidate


def _agrees(contributions: Mapping[str, float]) -> bool:
    """The doubles added in order equal their exact decimal sum.

    The decimal sum of six-decimal values has six decimals and the double sum is within far less
    than a millionth of it, so rounding the double sum to six decimals gives the decimal sum.
    """
    total = _float_sum(contributions)
    return total == round(total, 6)


def _float_sum(values: Mapping[str, float]) -> float:
    """Left to right, as a consumer's ``sum(contributions.values())`` adds them."""
    total = 0.0
    for value in values.values():
        total += value
    return total


def _actions(level: RiskLevel, patterns: Mapping[str, float]) -> list[str]:
    actions = list(LEVEL_ACTIONS[level])
    for pattern in sorted(patterns):
        action = PATTERN_ACTIONS.get(pattern)
        if action and action not in actions:
            actions.append(action)
    return actions
