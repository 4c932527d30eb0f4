"""The dispatcher's contract: mark only what SNS accepted, report the rest for a retry, skip bad values."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from test_alert_messages import alert
from test_alert_publisher import FakeSns
from unit_fakes import FakeDeadLetters

from riskengine.alerting import AlertDispatcher, DispatchConfig, SnsPublisher
from riskengine.codec import ALERTS_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord

CODEC = AvroCodec(FixedIdRegistry())


class FakeState:
    def __init__(self, sent: set[str] | None = None) -> None:
        self.sent = set(sent or ())
        self.counts: dict[str, int] = {}
        self.reads = 0

    def read(self, ids: Sequence[str], patterns: Sequence[str], minute: int) -> tuple[set[str], dict[str, int]]:
        self.reads += 1
        return self.sent & set(ids), {p: self.counts.get(p, 0) for p in patterns}

    def mark(self, ids: Iterable[str], per_pattern: Mapping[str, int], minute: int) -> None:
        self.sent.update(ids)
        for pattern, n in per_pattern.items():
            self.counts[pattern] = self.counts.get(pattern, 0) + n


def records(alerts: list[dict[str, Any]]) -> list[SourceRecord]:
    return [
        SourceRecord("risk-alerts", i % 2, i, 0, None, CODEC.encode(ALERTS_SUBJECT, a)) for i, a in enumerate(alerts)
    ]


def dispatcher(fake: FakeSns, state: FakeState, dead_letters: Any = None) -> AlertDispatcher:
    publisher = SnsPublisher(fake, "arn:t", sleep=lambda _: None)
    config = DispatchConfig(topic_arn="arn:t")
    return AlertDispatcher(CODEC, state, publisher, config, dead_letters or FakeDeadLetters(), clock=lambda: 600.0)  # type: ignore[arg-type]


def test_failed_messages_become_batch_item_failures_and_are_not_marked() -> None:
    never = {"Code": "InternalError", "SenderFault": False}
    fake = FakeSns({"m2": never}, {"m0": never}, {"m0": never})
    state = FakeState()
    outcome = dispatcher(fake, state).dispatch(records([alert(f"a{i}") for i in range(4)]))
    assert outcome.delivered == 3
    assert state.sent == {"a0", "a1", "a3"}
    assert outcome.response() == {
        "batchItemFailures": [{"itemIdentifier": {"partition": "risk-alerts-0", "offset": 2}}]
    }


def test_redelivery_sends_nothing_twice() -> None:
    fake, state = FakeSns(), FakeState()
    batch = records([alert(f"a{i}") for i in range(3)])
    dispatcher(fake, state).dispatch(batch)
    outcome = dispatcher(fake, state).dispatch(batch)
    assert len(fake.calls) == 1
    assert outcome.already_sent == 3 and outcome.delivered == 0
    assert outcome.response() == {"batchItemFailures": []}


def test_undecodable_value_is_dead_lettered_not_retried(dead_letters: FakeDeadLetters) -> None:
    fake, state = FakeSns(), FakeState()
    garbage = SourceRecord("risk-alerts", 0, 9, 0, None, b"\x00garbage")
    outcome = dispatcher(fake, state, dead_letters).dispatch([*records([alert("a0")]), garbage])
    assert outcome.undecodable == 1 and outcome.delivered == 1
    assert [(letter.record, letter.reason) for letter in dead_letters.letters] == [(garbage, "unknown_schema_id")]
    assert outcome.response() == {"batchItemFailures": []}


def test_a_dead_letter_kafka_refused_is_retried_not_lost(dead_letters: FakeDeadLetters) -> None:
    dead_letters.refuse = True
    garbage = SourceRecord("risk-alerts", 1, 4, 0, None, b"not avro")
    outcome = dispatcher(FakeSns(), FakeState(), dead_letters).dispatch([*records([alert("a0")]), garbage])
    assert outcome.delivered == 1 and outcome.undecodable == 0
    failure = {"itemIdentifier": {"partition": "risk-alerts-1", "offset": 4}}
    assert outcome.response() == {"batchItemFailures": [failure]}


def test_digested_alerts_are_marked_and_counted() -> None:
    fake, state = FakeSns(), FakeState()
    state.counts["WASH_TRADING"] = 19
    outcome = dispatcher(fake, state).dispatch(records([alert(f"a{i}") for i in range(5)]))
    assert (outcome.delivered, outcome.digested, outcome.digests_sent) == (1, 4, 1)
    assert state.sent == {f"a{i}" for i in range(5)}
    assert state.counts["WASH_TRADING"] == 20
