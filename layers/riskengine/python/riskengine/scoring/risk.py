"""The risk score: a weighted sum of four components, each within 0..1.

    riskScore = 0.6 * behaviour + 0.15 * volume + 0.15 * compliance + 0.1 * marketImpact

- behaviour: 1 - prod(1 - strength) over the patterns this trade triggered (two medium
  patterns together weigh more than either alone, never more than 1);
- volume: the z-score of log(notional) against the user's own previous trades (up to
  ``baseline_trades`` of them, at least ``min_baseline_trades``), ``z / z_saturation`` clipped;
- compliance: the heaviest compliance flag (self-matched counterparty, high-risk country);
- marketImpact: notional / the market's (symbol on exchange) volume over the previous
  ``volume_window_ms``, divided by ``impact_saturation`` and clipped.

``scoreContributions`` holds weight x component per component; they add up to the score,
so every score explains itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

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


@dataclass(frozen=True, slots=True)
class ScoreInputs:
    """What the harness gathered for one trade."""

    trade: Trade
    pattern_strengths: Mapping[str, float]
    previous_user_events: Sequence[WindowEvent]
    volume_buckets: Mapping[int, float]
    late: bool = False


class RiskScorer:
    def __init__(self, config: ScoringConfig | None = None) -> None:
        self.config = config or ScoringConfig()

    def score(self, inputs: ScoreInputs) -> dict[str, object]:
        """The scoring part of a RiskAnalyzedTrade record (camelCase, Avro field names)."""
        trade = inputs.trade
        volume, volume_analysis = self._volume(trade, inputs.previous_user_events)
        impact, impact_analysis = self._market_impact(trade, inputs.volume_buckets)
        flags = self._compliance_flags(trade)
        components = {
            "behaviour": 1.0 - math.prod(1.0 - s for s in inputs.pattern_strengths.values()),
            "volume": volume,
            "compliance": max((COMPLIANCE_FLAGS[f] for f in flags), default=0.0),
            "marketImpact": impact,
        }
        contributions = {name: round(self.config.weights[name] * value, 6) for name, value in components.items()}
        score = min(1.0, round(sum(contributions.values()), 6))
        level = level_for_score(score)
        return {
            "riskScore": score,
            "finalRiskLevel": level.value,
            "volumeAnalysis": volume_analysis,
            "behavioralAnalysis": {
                "patternCount": len(inputs.pattern_strengths),
                "maxPatternStrength": max(inputs.pattern_strengths.values(), default=0.0),
                "patternStrengths": dict(inputs.pattern_strengths),
            },
            "marketImpactAnalysis": impact_analysis,
            "complianceFlags": flags,
            "riskMitigationActions": _actions(level, inputs.pattern_strengths),
            "scoreContributions": contributions,
            "lateEvent": inputs.late,
        }

    def _volume(self, trade: Trade, previous: Sequence[WindowEvent]) -> tuple[float, dict[str, object]]:
        horizon = trade.timestamp - self.config.baseline_horizon_ms
        sizes = [math.log(e.notional) for e in previous[-self.config.baseline_trades :] if e.timestamp >= horizon]
        analysis: dict[str, object] = {
            "notional": trade.notional,
            "baselineTrades": len(sizes),
            "baselineMean": None,
            "baselineStd": None,
            "zScore": 0.0,
        }
        if len(sizes) < self.config.min_baseline_trades:
            return 0.0, analysis
        mean = sum(sizes) / len(sizes)
        # A floor on the spread keeps a user who always trades the same size from turning a
        # tiny change into a huge z-score.
        std = max(math.sqrt(sum((s - mean) ** 2 for s in sizes) / len(sizes)), 0.1)
        z = (math.log(trade.notional) - mean) / std
        analysis |= {"baselineMean": math.exp(mean), "baselineStd": std, "zScore": round(z, 4)}
        return min(1.0, max(0.0, z) / self.config.z_saturation), analysis

    def _market_impact(self, trade: Trade, buckets: Mapping[int, float]) -> tuple[float, dict[str, object]]:
        bucket_ms = self.config.volume_bucket_ms
        current = trade.timestamp // bucket_ms
        span = self.config.volume_window_ms // bucket_ms
        volume = sum(buckets.get(b, 0.0) for b in range(current - span, current))
        if volume <= 0:
            return 0.0, {"symbolVolume5m": 0.0, "impactRatio": None}
        ratio = trade.notional / volume
        analysis = {"symbolVolume5m": round(volume, 2), "impactRatio": round(ratio, 6)}
        return min(1.0, ratio / self.config.impact_saturation), analysis

    def _compliance_flags(self, trade: Trade) -> list[str]:
        flags = []
        if trade.counterparty_user_id is not None and trade.counterparty_user_id == trade.user_id:
            flags.append("SELF_MATCHED_COUNTERPARTY")
        if trade.country in self.config.high_risk_countries:
            flags.append("HIGH_RISK_JURISDICTION")
        return flags


def _actions(level: RiskLevel, patterns: Mapping[str, float]) -> list[str]:
    actions = list(LEVEL_ACTIONS[level])
    for pattern in sorted(patterns):
        action = PATTERN_ACTIONS.get(pattern)
        if action and action not in actions:
            actions.append(action)
    return actions
