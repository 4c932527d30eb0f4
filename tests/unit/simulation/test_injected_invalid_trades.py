"""The simulator's injected invalid trades are dead-lettered by the real validator, each for the reason
its kind names, and nothing else is: the demo's dead-letter counts depend on it."""

from __future__ import annotations

from collections import Counter

from riskengine.errors import InvalidTrade
from riskengine.simulation import INVALID_KINDS, SimulatorConfig, TradingSimulator
from riskengine.validation import validate_trade

REASON_OF_KIND = {
    "zero_quantity": "quantity_not_positive",
    "negative_price": "price_not_positive",
    "notional_mismatch": "notional_mismatch",
    "unknown_side": "unknown_side",
    "missing_field": "missing_field",
}


def test_every_injected_invalid_trade_fails_validation_with_its_reason() -> None:
    assert set(REASON_OF_KIND) == set(INVALID_KINDS)
    simulator = TradingSimulator(SimulatorConfig(seed=5, invalid_fraction=0.02))
    trades = list(simulator.trades(10_000))
    # The validator's clock: just after the last trade, as for a live producer.
    now_ms = max(t["timestamp"] for t in trades if "timestamp" in t) + 1
    reasons: Counter[str] = Counter()
    for trade in trades:
        try:
            validate_trade(trade, now_ms=now_ms)
        except InvalidTrade as exc:
            reasons[exc.reason] += 1
    expected = Counter({REASON_OF_KIND[kind]: count for kind, count in simulator.stats.invalid_by_kind.items()})
    assert reasons == expected
    assert set(reasons) == set(REASON_OF_KIND.values())
