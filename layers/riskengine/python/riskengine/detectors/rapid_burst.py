"""RAPID_BURST: more trades by one user within seconds than a person could place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskengine.detectors.base import Match, RuleConfig, SequenceRule, escalate
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True)
class RapidBurstConfig(RuleConfig):
    base_strength: float = 0.3
    max_trades: int = 20
    window_ms: int = 10_000
    saturation: float = 10.0

    def validate(self) -> None:
        if self.max_trades < 1 or self.window_ms <= 0 or self.saturation <= 1:
            raise ValueError("max_trades >= 1, window_ms > 0 and saturation > 1 required")


class RapidBurst(SequenceRule):
    """Matches at the trade that takes the count above ``max_trades`` within ``window_ms``."""

    name = pattern = "RAPID_BURST"
    version = 1
    scope = Scope.USER
    Config = RapidBurstConfig
    config: RapidBurstConfig

    @property
    def length(self) -> int:
        return self.config.max_trades + 1

    @property
    def window_ms(self) -> int:
        return self.config.window_ms

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        start = end - self.config.max_trades
        if start < 0 or events[end].timestamp - events[start].timestamp > self.config.window_ms:
            return None  # the usual case, decided before anything is sliced
        burst = events[start : end + 1]
        span = burst[-1].timestamp - burst[0].timestamp
        # Strength grows with speed: the same count in a tenth of the window is far less human.
        return Match(
            strength=escalate(self.config.base_strength, self.config.window_ms / max(span, 1), self.config.saturation),
            evidence=tuple(e.event_id for e in burst),
            timestamp=burst[-1].timestamp,
            metrics={
                "tradeCount": float(len(burst)),
                "tradeCountThreshold": float(self.config.max_trades),
                "windowMs": float(span),
                "windowThresholdMs": float(self.config.window_ms),
            },
            description=f"{len(burst)} trades within {span / 1000:.1f} s (limit {self.config.max_trades})",
        )


DETECTOR = RapidBurst
