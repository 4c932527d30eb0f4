"""Risk scoring: how a trade's patterns, size, market impact and compliance flags become 0..1."""

from riskengine.scoring.levels import level_for_score, severity_for_strength
from riskengine.scoring.risk import NO_BASELINE, Baseline, RiskScorer, ScoreInputs, ScoringConfig, exact_contributions

__all__ = [
    "NO_BASELINE",
    "Baseline",
    "RiskScorer",
    "ScoreInputs",
    "ScoringConfig",
    "exact_contributions",
    "level_for_score",
    "severity_for_strength",
]
