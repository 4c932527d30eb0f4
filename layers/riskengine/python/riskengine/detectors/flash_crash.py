"""FLASH_CRASH: an uninterrupted run of SELLs on one market (symbol on one exchange)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from riskengine.detectors.base import Match, RuleConfig, SequenceRule, escalate, last_events
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True)
class FlashCrashConfig(RuleConfig):
    base_strength: float = 0.5
    sells: int = 10
    window_ms: int = 300_000
    # A price fall of this fraction over the run doubles as "strong"; ten times it saturates.
    reference_drop: float = 0.01
    saturation: float = 10.0

    def validate(self) -> None:
        if self.sells < 2 or self.window_ms <= 0 or self.reference_drop <= 0 or self.saturation <= 1:
            raise ValueError("sells >= 2, window_ms > 0, reference_drop > 0 and saturation > 1 required")


class FlashCrash(SequenceRule):
    name = pattern = "FLASH_CRASH"
    version = 1
    scope = Scope.SYMBOL_EXCHANGE
    Config = FlashCrashConfig
    config: FlashCrashConfig

    @property
    def length(self) -> int:
        return self.config.sells

    @property
    def window_ms(self) -> int:
        return self.config.window_ms

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        if events[end].side != "SELL":  # the usual case, decided before anything is sliced
            return None
        run = last_events(events, end, self.config.sells)
        if run is None or run[-1].timestamp - run[0].timestamp > self.config.window_ms:
            return None
        if any(e.side != "SELL" for e in run):
            return None
        drop = max(0.0, (run[0].price - run[-1].price) / run[0].price)
        sellers = len({e.user_id for e in run})
        return Match(
            strength=escalate(self.config.base_strength, drop / self.config.reference_drop, self.config.saturation),
            evidence=tuple(e.event_id for e in run),
            timestamp=run[-1].timestamp,
            metrics={
                "consecutiveSells": float(len(run)),
                "consecutiveSellsThreshold": float(self.config.sells),
                "priceDropPct": drop * 100,
                "distinctSellers": float(sellers),
                "windowMs": float(run[-1].timestamp - run[0].timestamp),
                "windowThresholdMs": float(self.config.window_ms),
                "soldNotionalUsd": sum(e.notional for e in run),
            },
            description=(
                f"{len(run)} SELLs in a row from {sellers} sellers within "
                f"{(run[-1].timestamp - run[0].timestamp) / 1000:.0f} s; price fell {drop:.2%} "
                f"({run[0].price:g} -> {run[-1].price:g})"
            ),
        )


DETECTOR = FlashCrash
