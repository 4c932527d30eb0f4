"""An order-book rule's answer at a position depends only on what the window is sure to hold there.

The engine hands a rule ``length`` events before the earliest new one and evicts events older than
``window_ms`` (docs/architecture.md, section 2): how much more a window happens to hold depends on
batching and eviction. A match (or its absence) must not, or a redelivered batch could raise a
different alert. So: the answer at ``end`` is the same with only the last ``length`` events up to it,
no older than ``window_ms`` before it, and with any events after it; and so is a trade's order-book
signal (``trade_signal``), which its analysed record's score keeps.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from order_book_events import TEMPOS, random_flow, windows

from riskengine.detectors.base import SequenceRule
from riskengine.detectors.excessive_cancels import ExcessiveCancels, ExcessiveCancelsConfig
from riskengine.detectors.layering import Layering, LayeringConfig
from riskengine.detectors.spoofing import Spoofing, SpoofingConfig
from riskengine.windows.events import WindowEvent

# Small histories, so that what a window holds beyond them is there to be (wrongly) used.
RULES = [
    Spoofing(SpoofingConfig(previous_orders=6, min_previous_orders=3, history_events=12, history_ms=20_000)),
    Spoofing(SpoofingConfig(min_previous_orders=2, min_ratio=2.0, history_events=40, history_ms=60_000)),
    Layering(LayeringConfig(history_events=12, min_resting_orders=1)),
    Layering(LayeringConfig(min_orders=3, min_levels=3, min_resting_orders=2, cancel_within_ms=20_000)),
    ExcessiveCancels(ExcessiveCancelsConfig(window_ms=20_000, min_orders=6, cancels_per_fill=2.0,
                                            stuffing_window_ms=5_000, stuffing_max_events=4)),
]  # fmt: skip


def _view(rule: SequenceRule, events: list[WindowEvent], end: int) -> list[WindowEvent]:
    """What the window is sure to hold when a match ending at ``end`` is looked for."""
    earliest = events[end].timestamp - rule.window_ms
    return [event for event in events[max(0, end - rule.length + 1) : end + 1] if event.timestamp >= earliest]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
@given(seed=st.integers(min_value=0, max_value=2**32), steps=st.integers(min_value=1, max_value=150))
def test_a_match_depends_only_on_what_the_window_is_sure_to_hold(rule: SequenceRule, seed: int, steps: int) -> None:
    tempo = TEMPOS[0] if rule.name != "EXCESSIVE_CANCELS" else TEMPOS[1 + seed % 2]
    for events in windows(random_flow(random.Random(seed), steps, tempo), rule.scope).values():
        for end in range(len(events)):
            view = _view(rule, events, end)
            assert rule.check(events, end) == rule.check(view, len(view) - 1)
            if events[end].is_trade:  # and so is a trade's score (SPOOFING's signal)
                assert rule.trade_signal(events, end) == rule.trade_signal(view, len(view) - 1)


def test_the_views_do_cut_history_and_rules_do_match_on_them() -> None:
    # Not vacuous: the views above are shorter than the windows, and every rule matches in some.
    for rule in RULES:
        tempo = TEMPOS[0] if rule.name != "EXCESSIVE_CANCELS" else TEMPOS[1]
        cut = found = signals = 0
        for seed in range(40):
            for events in windows(random_flow(random.Random(seed), 150, tempo), rule.scope).values():
                for end in range(len(events)):
                    cut += len(_view(rule, events, end)) < end + 1
                    found += rule.check(events, end) is not None
                    signals += rule.trade_signal(events, end) > 0 if events[end].is_trade else 0
        assert cut >= 100 and found >= 5, rule.name
        assert signals >= 5 or rule.name != "SPOOFING"
