"""WASH_TRADING (round trip): BUY, SELL, BUY of near-equal size on one symbol in a minute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskengine.detectors.base import Match, RuleConfig, SequenceRule, escalate, exceeds_multiple, last_events
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope

SIDES = ("BUY", "SELL", "BUY")


@dataclass(frozen=True)
class WashTradingConfig(RuleConfig):
    base_strength: float = 0.6
    window_ms: int = 60_000
    max_quantity_ratio: float = 1.1

    def validate(self) -> None:
        if self.window_ms <= 0 or self.max_quantity_ratio < 1:
            raise ValueError("window_ms must be > 0 and max_quantity_ratio >= 1")


class WashTrading(SequenceRule):
    name = pattern = "WASH_TRADING"
    version = 1
    scope = Scope.USER_SYMBOL
    Config = WashTradingConfig
    config: WashTradingConfig
    length = len(SIDES)

    @property
    def window_ms(self) -> int:
        return self.config.window_ms

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        if events[end].side != SIDES[-1]:  # the usual case, decided before anything is sliced
            return None
        run = last_events(events, end, len(SIDES))
        if run is None or tuple(e.side for e in run) != SIDES:
            return None
        span = run[-1].timestamp - run[0].timestamp
        quantities = [e.quantity for e in run]
        largest, smallest = max(quantities), min(quantities)
        # Judged exactly: 18.513 is exactly 1.1 x 16.83, though 18.513 / 16.83 is 1.1000000000000003 in floats.
        if span > self.config.window_ms or exceeds_multiple(largest, self.config.max_quantity_ratio, smallest):
            return None
        ratio = largest / smallest
        # Strength rises as the sizes get closer: identical sizes are the strongest sign.
        closeness = self.config.max_quantity_ratio / ratio
        return Match(
            strength=escalate(self.config.base_strength, closeness, max(self.config.max_quantity_ratio, 1.0001)),
            evidence=tuple(e.event_id for e in run),
            timestamp=run[-1].timestamp,
            metrics={
                "quantityRatio": ratio,
                "quantityRatioThreshold": self.config.max_quantity_ratio,
                "windowMs": float(span),
                "windowThresholdMs": float(self.config.window_ms),
            },
            description=(
                f"BUY, SELL, BUY of near-equal size (largest/smallest {ratio:.3f}) within "
                f"{span / 1000:.0f} s: a round trip with no change of position"
            ),
        )


DETECTOR = WashTrading
