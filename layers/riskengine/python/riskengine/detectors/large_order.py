"""LARGE_ORDER: a single trade whose notional reaches its symbol's threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from riskengine.detectors.base import Match, RuleConfig, TradeRule, escalate
from riskengine.model import Trade

DEFAULT_THRESHOLDS = MappingProxyType(
    {"BTC": 500_000.0, "ETH": 250_000.0, "SOL": 100_000.0, "ADA": 50_000.0, "DOT": 75_000.0}
)


@dataclass(frozen=True)
class LargeOrderConfig(RuleConfig):
    base_strength: float = 0.35
    thresholds_usd: Mapping[str, float] = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    default_threshold_usd: float = 50_000.0
    saturation: float = 10.0

    def validate(self) -> None:
        if self.default_threshold_usd <= 0 or any(v <= 0 for v in self.thresholds_usd.values()):
            raise ValueError("thresholds must be > 0 USD")
        if self.saturation <= 1:
            raise ValueError(f"saturation must be > 1, got {self.saturation}")


class LargeOrder(TradeRule):
    name = pattern = "LARGE_ORDER"
    version = 1
    Config = LargeOrderConfig
    config: LargeOrderConfig

    def check(self, trade: Trade) -> Match | None:
        base_asset = trade.symbol.partition("/")[0]
        threshold = self.config.thresholds_usd.get(base_asset, self.config.default_threshold_usd)
        if trade.notional < threshold:
            return None
        return Match(
            strength=escalate(self.config.base_strength, trade.notional / threshold, self.config.saturation),
            evidence=(trade.trade_id,),
            timestamp=trade.timestamp,
            metrics={"notionalUsd": trade.notional, "thresholdUsd": threshold},
            description=(
                f"{trade.side} {trade.quantity:g} {trade.symbol} on {trade.exchange} worth "
                f"${trade.notional:,.0f}, at or above the ${threshold:,.0f} large-order threshold"
            ),
        )


DETECTOR = LargeOrder
