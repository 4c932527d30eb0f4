"""SELF_TRADE (pattern WASH_TRADING): the counterparty of a fill is the trader themself."""

from __future__ import annotations

import pytest

from riskengine.detectors.self_trade import SelfTrade, SelfTradeConfig
from riskengine.model import Side, Trade


def _trade(counterparty: str | None, user: str = "U1") -> Trade:
    return Trade(
        trade_id="T9",
        user_id=user,
        customer_id="C1",
        symbol="ETH/USDT",
        side=Side.SELL,
        quantity=3.0,
        price=2_000.0,
        notional=6_000.0,
        timestamp=42_000,
        exchange="KRAKEN",
        country="DE",
        counterparty_user_id=counterparty,
        record={},
    )


def test_self_matched_fill_is_a_wash_trade() -> None:
    rule = SelfTrade()
    match = rule.check(_trade("U1"))
    assert match is not None
    assert (rule.name, rule.pattern, rule.rule_id) == ("SELF_TRADE", "WASH_TRADING", "SELF_TRADE@1")
    assert match.evidence == ("T9",)
    assert match.timestamp == 42_000
    assert dict(match.metrics) == {"notionalUsd": 6_000.0, "selfMatched": 1.0}
    assert match.strength == pytest.approx(0.9)
    assert "themself" in match.description
    assert "ETH/USDT" in match.description


@pytest.mark.parametrize("counterparty", [None, "U2", "u1", "U1 ", ""])
def test_any_other_counterparty_is_no_match(counterparty: str | None) -> None:
    assert SelfTrade().check(_trade(counterparty)) is None


def test_strength_is_the_configured_base_strength_within_0_and_1() -> None:
    match = SelfTrade(SelfTradeConfig(base_strength=0.7)).check(_trade("U1"))
    assert match is not None
    assert match.strength == pytest.approx(0.7)
    with pytest.raises(ValueError, match="base_strength"):
        SelfTradeConfig(base_strength=1.2)
