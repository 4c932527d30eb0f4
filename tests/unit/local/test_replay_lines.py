"""Mixed replay files: each line's kind picks its topic, and batches keep file order across handlers."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.model import SourceRecord
from riskengine.sinks import DeadLetter
from riskengine_tools.local import replay
from riskengine_tools.local.replay import (
    KIND_TOPICS,
    ORDERS_TOPIC,
    TRADES_TOPIC,
    UNKNOWN_KIND,
    batches,
    line_record,
)

TRADE = {"tradeId": "t1", "userId": "U1", "price": 0.1, "quantity": 1e-08}


def test_a_line_without_kind_is_a_trade_fed_byte_for_byte() -> None:
    line = b'{ "tradeId" : "t1",  "price": 1.50 }'
    assert line_record(7, line) == SourceRecord(TRADES_TOPIC, 0, 7, 0, None, line)


@pytest.mark.parametrize(("kind", "topic"), [("trade", TRADES_TOPIC), ("order", ORDERS_TOPIC)])
def test_kind_picks_the_topic_and_is_dropped_from_the_record(kind: str, topic: str) -> None:
    record = line_record(3, json.dumps({"kind": kind, **TRADE}).encode())
    assert isinstance(record, SourceRecord)
    assert (record.topic, record.offset) == (topic, 3)
    assert json.loads(record.value or b"") == TRADE


@pytest.mark.parametrize("line", [b"not json", b"{broken", b"[1, 2]", b'"kind"', b"\xff\xfe"])
def test_what_is_not_a_json_object_goes_to_the_trade_handler_unchanged_which_rejects_it(line: bytes) -> None:
    assert line_record(0, line) == SourceRecord(TRADES_TOPIC, 0, 0, 0, None, line)


@pytest.mark.parametrize("kind", ["quote", "ORDER", "", None, 1, ["order"]])
def test_any_other_kind_is_a_dead_letter_saying_which_kinds_exist(kind: object) -> None:
    line = json.dumps({"kind": kind, **TRADE}).encode()
    letter = line_record(4, line)
    assert isinstance(letter, DeadLetter)
    assert (letter.reason, letter.record.offset, letter.record.value) == (UNKNOWN_KIND, 4, line)
    assert "kind must be 'trade' or 'order' (or absent, for a trade)" in letter.detail
    assert json.dumps(kind) in letter.detail


def test_every_kind_is_fed_to_the_function_the_trigger_of_its_topic_invokes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "_handler_feeder", lambda function: function)  # which handler, not the handler
    feeders = replay._feeders()
    assert feeders == {TRADES_TOPIC: "score_trades", ORDERS_TOPIC: "score_orders"}
    assert set(KIND_TOPICS.values()) == set(feeders)  # no kind of line is left unevaluated


# --- batches --------------------------------------------------------------------------------------


def record(topic: str, offset: int) -> SourceRecord:
    return SourceRecord(topic, 0, offset, 0, None, b"{}")


def feeder() -> Callable[[list[SourceRecord]], None]:
    return lambda batch: None


def test_batches_are_cut_at_the_size_and_where_the_feeder_changes() -> None:
    trades, orders = feeder(), feeder()
    topics = (TRADES_TOPIC, TRADES_TOPIC, TRADES_TOPIC, ORDERS_TOPIC, TRADES_TOPIC)
    stream = [record(topic, offset) for offset, topic in enumerate(topics)]
    feeders = {TRADES_TOPIC: trades, ORDERS_TOPIC: orders}
    cut = [(target, [r.offset for r in batch]) for target, batch in batches(stream, feeders, 2)]
    assert cut == [(trades, [0, 1]), (trades, [2]), (orders, [3]), (trades, [4])]


def test_one_feeder_for_both_topics_gets_them_in_one_batch_in_file_order() -> None:
    both = feeder()
    stream = [record(TRADES_TOPIC, 0), record(ORDERS_TOPIC, 1), record(TRADES_TOPIC, 2)]
    feeders = {TRADES_TOPIC: both, ORDERS_TOPIC: both}
    cut = [[(r.topic, r.offset) for r in batch] for _, batch in batches(stream, feeders, 10)]
    assert cut == [[(TRADES_TOPIC, 0), (ORDERS_TOPIC, 1), (TRADES_TOPIC, 2)]]


@given(st.lists(st.sampled_from((TRADES_TOPIC, ORDERS_TOPIC)), max_size=40), st.integers(1, 7))
def test_records_without_a_feeder_are_left_out_and_do_not_cut_batches(topics: list[str], size: int) -> None:
    # A topic without a handler (none today: every kind has one) is skipped and cuts nothing.
    stream = [record(topic, offset) for offset, topic in enumerate(topics)]
    trades = feeder()
    cut = [[r.offset for r in batch] for _, batch in batches(stream, {TRADES_TOPIC: trades}, size)]
    offsets = [r.offset for r in stream if r.topic == TRADES_TOPIC]
    assert cut == [offsets[i : i + size] for i in range(0, len(offsets), size)]
