"""Window specs: what the rules make a scope keep, and what an order-book window keeps behind its closed gate."""

from __future__ import annotations

import pytest

from riskengine.detectors import load_rules
from riskengine.engine import window_specs
from riskengine.errors import ConfigurationError
from riskengine.scoring import ScoringConfig
from riskengine.windows.spec import Scope, WindowSpec


def specs(rules: dict[str, dict[str, object]] | None = None) -> dict[Scope, WindowSpec]:
    return window_specs(load_rules(rules), ScoringConfig(), 10_000, 60_000)


def test_behind_a_closed_gate_an_order_book_window_keeps_the_longest_trade_reach_of_its_rules() -> None:
    assert specs()[Scope.ORDER_BOOK].closed_horizon_ms == 90_000  # LAYERING's cancel_within_ms; SPOOFING's is 30 s
    assert specs({"LAYERING": {"enabled": False}})[Scope.ORDER_BOOK].closed_horizon_ms == 30_000
    assert specs({"LAYERING": {"cancel_within_ms": 120_000}})[Scope.ORDER_BOOK].closed_horizon_ms == 120_000


def test_scopes_without_a_gate_have_no_closed_horizon() -> None:
    assert all(spec.closed_horizon_ms == 0 for scope, spec in specs().items() if scope.gate is None)
    assert Scope.ORDER_BOOK.gate is not None and Scope.USER.gate is None


@pytest.mark.parametrize(("first", "second", "merged"), [(30_000, 90_000, 90_000), (0, 90_000, 0), (90_000, 0, 0)])
def test_merging_keeps_what_either_needs(first: int, second: int, merged: int) -> None:
    """0 is no closed limit at all, so it wins: a rule that reads old trades keeps them."""
    one = WindowSpec(Scope.ORDER_BOOK, 10, 60_000, closed_horizon_ms=first)
    other = WindowSpec(Scope.ORDER_BOOK, 10, 60_000, closed_horizon_ms=second)
    assert one.merged(other).closed_horizon_ms == merged


def test_a_negative_closed_horizon_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        WindowSpec(Scope.ORDER_BOOK, 10, 60_000, closed_horizon_ms=-1)
