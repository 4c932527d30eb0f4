"""The risk scorer as it was before its per-trade shortcuts: the oracle for test_scoring_equivalence.

Only what the shortcuts changed is kept here (``score``, ``_volume``, ``_market_impact`` and the
rounding of ``exact_contributions``); everything else is the production scorer's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from riskengine.model import Trade
from riskengine.scoring import risk
from riskengine.scoring.levels import level_for_score
from riskengine.scoring.risk import COMPLIANCE_FLAGS, Baseline, ScoreInputs

# The order-book signal's share of behaviour is weighted as behaviour.
_WEIGHT_OF = {"orderBook": "behaviour"}


class RiskScorer(risk.RiskScorer):
    def score(self, inputs: ScoreInputs) -> dict[str, object]:
        trade = inputs.trade
        volume, volume_analysis = self._volume(trade, inputs.baseline)
        impact, impact_analysis = self._market_impact(trade, inputs.market_volume_cents / 100)
        flags = self._compliance_flags(trade)
        behaviour = 1.0 - math.prod(1.0 - s for s in inputs.pattern_strengths.values())
        components = {
            "behaviour": behaviour,
            "orderBook": (1.0 - behaviour) * inputs.order_book,
            "volume": volume,
            "compliance": max((COMPLIANCE_FLAGS[f] for f in flags), default=0.0),
            "marketImpact": impact,
        }
        contributions, score = exact_contributions(
            {name: self.config.weights[_WEIGHT_OF.get(name, name)] * value for name, value in components.items()}
        )
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
            "riskMitigationActions": risk._actions(level, inputs.pattern_strengths),
            "scoreContributions": contributions,
            "lateEvent": inputs.late,
        }

    def _volume(self, trade: Trade, baseline: Baseline) -> tuple[float, dict[str, object]]:
        analysis: dict[str, object] = {
            "notional": trade.notional,
            "baselineTrades": baseline.trades,
            "baselineMean": None,
            "baselineStd": None,
            "zScore": 0.0,
        }
        if baseline.trades < self.config.min_baseline_trades:
            return 0.0, analysis
        std = max(baseline.std, 0.1)
        z = (math.log(trade.notional) - baseline.mean) / std
        analysis |= {"baselineMean": math.exp(baseline.mean), "baselineStd": std, "zScore": round(z, 4)}
        return min(1.0, max(0.0, z) / self.config.z_saturation), analysis

    def _market_impact(self, trade: Trade, volume: float) -> tuple[float, dict[str, object]]:
        if volume <= 0:
            return 0.0, {"symbolVolume5m": 0.0, "impactRatio": None}
        ratio = trade.notional / volume
        analysis = {"symbolVolume5m": round(volume, 2), "impactRatio": round(ratio, 6)}
        return min(1.0, ratio / self.config.impact_saturation), analysis


def exact_contributions(weighted: Mapping[str, float]) -> tuple[dict[str, float], float]:
    """As before: every contribution rounded, zeros included; the rest is the production search."""
    contributions = {name: round(value, 6) for name, value in weighted.items()}
    total = risk._float_sum(contributions)
    if total == round(total, 6) <= 1:
        return contributions, total
    if round(total, 6) > 1:
        largest = max(contributions, key=contributions.__getitem__)
        contributions[largest] = round(contributions[largest] - (round(total, 6) - 1), 6)
    for candidate in risk._nearby(contributions):
        if risk._agrees(candidate):
            return candidate, risk._float_sum(candidate)
    return contributions, risk._float_sum(contributions)
