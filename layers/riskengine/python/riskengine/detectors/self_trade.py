"""WASH_TRADING (self-match): a trade whose counterparty is the trader themself."""

from __future__ import annotations

from dataclasses import dataclass

from riskengine.detectors.base import Match, RuleConfig, TradeRule
from riskengine.model import Trade


@dataclass(frozen=True)
class SelfTradeConfig(RuleConfig):
    base_strength: float = 0.9


class SelfTrade(TradeRule):
    name = "SELF_TRADE"
    pattern = "WASH_TRADING"
    version = 1
    Config = SelfTradeConfig

    def check(self, trade: Trade) -> Match | None:
        if trade.counterparty_user_id != trade.user_id:
            return None
        return Match(
            strength=self.config.base_strength,
            evidence=(trade.trade_id,),
            timestamp=trade.timestamp,
            metrics={"notionalUsd": trade.notional, "selfMatched": 1.0},
            description=(
                f"{trade.user_id} traded {trade.quantity:g} {trade.symbol} on {trade.exchange} "
                f"with themself as counterparty (${trade.notional:,.0f})"
            ),
        )


DETECTOR = SelfTrade
