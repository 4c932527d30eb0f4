"""Turning numbers into levels: the harness does this, never a rule."""

from __future__ import annotations

from riskengine.model import RiskLevel

# Trade risk levels (the product's contract): >= 0.7 CRITICAL, >= 0.5 HIGH, >= 0.3 MEDIUM.
SCORE_BANDS = ((0.7, RiskLevel.CRITICAL), (0.5, RiskLevel.HIGH), (0.3, RiskLevel.MEDIUM))
# Alert severities from a rule's match strength (0..1).
STRENGTH_BANDS = ((0.75, RiskLevel.CRITICAL), (0.5, RiskLevel.HIGH), (0.25, RiskLevel.MEDIUM))


def _band(value: float, bands: tuple[tuple[float, RiskLevel], ...]) -> RiskLevel:
    for floor, level in bands:
        if value >= floor:
            return level
    return RiskLevel.LOW


def level_for_score(score: float) -> RiskLevel:
    return _band(score, SCORE_BANDS)


def severity_for_strength(strength: float) -> RiskLevel:
    return _band(strength, STRENGTH_BANDS)
