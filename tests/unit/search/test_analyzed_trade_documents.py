"""Analysed-trade documents against the strict mapping: every score component the scorer reports is mapped."""

from __future__ import annotations

from riskengine.model import Side, Trade
from riskengine.scoring import RiskScorer, ScoreInputs
from riskengine.search import ANALYZED_TRADES


def test_every_score_contribution_the_scorer_reports_is_a_mapped_double() -> None:
    trade = Trade(
        trade_id="T", user_id="U1", customer_id="C1", symbol="BTC/USDT", side=Side.SELL, quantity=1.0,
        price=50_000.0, notional=50_000.0, timestamp=1_764_000_000_000, exchange="BINANCE", country=None,
        counterparty_user_id=None, record={},
    )  # fmt: skip
    # A trade that is the opposite leg of a spoof's bait and part of a pattern: every component is there.
    scored = RiskScorer().score(ScoreInputs(trade, {"WASH_TRADING": 0.7}, order_book=0.8))
    mapped = ANALYZED_TRADES.mappings()["properties"]["scoreContributions"]["properties"]
    # The mapping is strict: a component it does not name would make every analysed trade unindexable.
    assert set(scored["scoreContributions"]) <= set(mapped)
    assert scored["scoreContributions"]["orderBook"] > 0
    assert {mapped[name]["type"] for name in scored["scoreContributions"]} == {"double"}
