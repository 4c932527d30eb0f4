"""VOLUME_SPIKE: a user's trades escalating sharply in size within a short time."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from riskengine.detectors.base import Match, RuleConfig, SequenceRule, escalate, exceeds_multiple, last_events
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True)
class VolumeSpikeConfig(RuleConfig):
    base_strength: float = 0.3
    trades: int = 3
    window_ms: int = 120_000
    min_first_notional_usd: float = 1_000.0
    growth_factor: float = 1.5
    saturation: float = 10.0

    def validate(self) -> None:
        if self.trades < 2 or self.window_ms <= 0 or self.growth_factor <= 1 or self.saturation <= 1:
            raise ValueError("trades >= 2, window_ms > 0, growth_factor > 1 and saturation > 1 required")


class VolumeSpike(SequenceRule):
    name = pattern = "VOLUME_SPIKE"
    version = 1
    scope = Scope.USER
    Config = VolumeSpikeConfig
    config: VolumeSpikeConfig

    @property
    def length(self) -> int:
        return self.config.trades

    @property
    def window_ms(self) -> int:
        return self.config.window_ms

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        # The usual case, decided before anything is sliced: no growth at the last step (notionals are
        # positive and the factor is above 1, so no growth cannot be growth beyond the factor).
        if end < 1 or events[end].notional <= events[end - 1].notional:
            return None
        run = last_events(events, end, self.config.trades)
        if run is None or run[-1].timestamp - run[0].timestamp > self.config.window_ms:
            return None
        if run[0].notional <= self.config.min_first_notional_usd:
            return None
        factor = self.config.growth_factor
        # Every step must be strictly more than factor x the previous, judged exactly: 1500.015 is
        # exactly 1.5 x 1000.01 (no growth beyond the factor), but 1.5 * 1000.01 is 1500.0149999999999.
        steps = itertools.pairwise(run)
        if not all(exceeds_multiple(later.notional, factor, earlier.notional) for earlier, later in steps):
            return None
        growth = run[-1].notional / run[0].notional
        expected = factor ** (len(run) - 1)
        return Match(
            strength=escalate(self.config.base_strength, growth / expected, self.config.saturation),
            evidence=tuple(e.event_id for e in run),
            timestamp=run[-1].timestamp,
            metrics={
                "firstNotionalUsd": run[0].notional,
                "lastNotionalUsd": run[-1].notional,
                "growth": growth,
                "minStepGrowthThreshold": factor,
                "windowMs": float(run[-1].timestamp - run[0].timestamp),
                "windowThresholdMs": float(self.config.window_ms),
            },
            description=(
                f"{len(run)} consecutive trades grew from ${run[0].notional:,.0f} to "
                f"${run[-1].notional:,.0f} ({growth:.1f}x) within "
                f"{(run[-1].timestamp - run[0].timestamp) / 1000:.0f} s"
            ),
        )


DETECTOR = VolumeSpike
