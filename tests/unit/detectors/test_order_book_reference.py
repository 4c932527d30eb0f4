"""The order-book rules agree with the reference checkers (orderbook_reference.py), written from the
definitions alone, on random mixed streams of order lives and trades of two users in two markets.

The rules run over the streams' windows at every position, as the engine runs them on events arriving
in event time, with windows large enough to hold every event (the reference sees the whole file; the
rules' bounded history is a documented blind spot). The streams have no ties in event time, where the
reference reads "between" by time and the rules by window order. LAYERING runs with
``min_resting_orders`` 1: the reference is the issue's definition, which does not ask the layers to
rest together.
"""

from __future__ import annotations

import random
from collections import Counter

import orderbook_reference
from hypothesis import given
from hypothesis import strategies as st
from order_book_events import TEMPOS, Record, Tempo, matches, random_flow, windows

from riskengine.detectors.base import SequenceRule
from riskengine.detectors.excessive_cancels import ExcessiveCancels
from riskengine.detectors.layering import Layering, LayeringConfig
from riskengine.detectors.spoofing import Spoofing, SpoofingConfig
from riskengine.windows.spec import Scope

USERS = ("U1", "U2")
EVERYTHING = 100_000  # events: more than any stream holds
SPOOFING = Spoofing(SpoofingConfig(history_events=EVERYTHING, history_ms=10**12))
LAYERING = Layering(LayeringConfig(history_events=EVERYTHING, min_resting_orders=1))
EXCESSIVE_CANCELS = ExcessiveCancels()  # keeps 1,351 events: more than any stream holds

Found = list[tuple[tuple[str, ...], int, frozenset[str]]]  # window key, position, evidence


def _stream(seed: int, steps: int, tempo: Tempo) -> list[Record]:
    return random_flow(random.Random(seed), steps, tempo, USERS, markets=2)


def _found(rule: SequenceRule, records: list[Record]) -> Found:
    return [
        (key, end, frozenset(match.evidence))
        for key, events in windows(records, rule.scope).items()
        for end, match in matches(rule, events).items()
    ]


def _key(match: orderbook_reference.Match) -> tuple[str, ...]:
    return tuple(part for part in (match.user_id, match.symbol, match.exchange) if part is not None)


def spoofing_agrees(records: list[Record]) -> int:
    """The same spoofs, with the same evidence; returns how many."""
    found = {(key, evidence) for key, _, evidence in _found(SPOOFING, records)}
    reference = {(_key(match), match.evidence) for match in orderbook_reference.spoofing(records)}
    assert found == reference
    return len(found)


def layering_agrees(records: list[Record]) -> int:
    """Every layer the rule finds is (part of) one the reference finds with the same first order, and
    every layer the reference finds ends where the rule matches; returns how many layers."""
    by_id = {record.get("eventId") or record["tradeId"]: record for record in records}
    reference = orderbook_reference.layering(records)
    found = _found(LAYERING, records)
    for key, _, evidence in found:
        first = _first_order(evidence, by_id)
        assert any(
            _key(match) == key and evidence <= match.evidence and _first_order(match.evidence, by_id) == first
            for match in reference
        )
    ends = {(key, _event_id(records, key, end)) for key, end, _ in found}
    for match in reference:
        cancels = [by_id[i] for i in match.evidence if by_id[i].get("eventType") == "CANCEL"]
        last = max(cancels, key=lambda record: record["timestamp"])
        assert (_key(match), last["eventId"]) in ends
    return len(reference)


def excessive_cancels_agrees(records: list[Record]) -> int:
    """A match at exactly the same order events, each with the same evidence; returns how many."""
    found = Counter((key, evidence) for key, _, evidence in _found(EXCESSIVE_CANCELS, records))
    reference = Counter((_key(match), match.evidence) for match in orderbook_reference.excessive_cancels(records))
    assert found == reference
    return sum(found.values())


def _first_order(evidence: frozenset[str], by_id: dict[str, Record]) -> str:
    placed = [by_id[i] for i in evidence if by_id[i].get("eventType") == "NEW"]
    return min(placed, key=lambda record: record["timestamp"])["orderId"]


def _event_id(records: list[Record], key: tuple[str, ...], position: int) -> str:
    window = windows(records, Scope.ORDER_BOOK)[key]
    return window[position].event_id


SEEDS = st.integers(min_value=0, max_value=2**32)


@given(SEEDS, st.integers(min_value=1, max_value=300))
def test_spoofing_agrees_with_the_reference(seed: int, steps: int) -> None:
    spoofing_agrees(_stream(seed, steps, TEMPOS[0]))


@given(SEEDS, st.integers(min_value=1, max_value=300))
def test_layering_agrees_with_the_reference(seed: int, steps: int) -> None:
    layering_agrees(_stream(seed, steps, TEMPOS[0]))


@given(SEEDS, st.integers(min_value=1, max_value=250), st.sampled_from(TEMPOS[1:]))
def test_excessive_cancels_agrees_with_the_reference(seed: int, steps: int, tempo: Tempo) -> None:
    excessive_cancels_agrees(_stream(seed, steps, tempo))


def test_the_streams_hold_matches_for_every_rule_to_agree_on() -> None:
    # Not vacuous: over these streams each rule and its reference find the same episodes, and many.
    spoofs = sum(spoofing_agrees(_stream(seed, 300, TEMPOS[0])) for seed in range(60))
    layers = sum(layering_agrees(_stream(seed, 300, TEMPOS[0])) for seed in range(60))
    stuffed = sum(excessive_cancels_agrees(_stream(seed, 250, TEMPOS[1])) for seed in range(30))
    cancelled = sum(excessive_cancels_agrees(_stream(seed, 250, TEMPOS[2])) for seed in range(30))
    assert spoofs >= 100
    assert layers >= 100
    assert stuffed >= 100
    assert cancelled >= 100
