"""Risk scoring: how a trade's patterns, size, market impact and compliance flags become 0..1."""

from riskengine.scoring.levels import level_for_score, severity_for_strength
from riskengine.scoring.risk import RiskScorer, ScoreInputs, ScoringConfig

__all__ = ["RiskScorer", "ScoreInputs", "ScoringConfig", "level_for_score", "severity_for_strength"]
