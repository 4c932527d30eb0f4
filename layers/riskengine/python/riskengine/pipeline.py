"""One trigger batch end to end: order, decode, validate, evaluate, record (while encoding), then write.

A processor reads one topic: trades (``TRADES``) or order events (``ORDER_EVENTS``), through the same steps.

Order matters for "nothing lost, nothing doubled". Records are taken in arrival order (each
partition in offset order, partitions merged by record timestamp), the order a batch of one at a
time would have seen them. The engine's decisions (ledger entries, alert marks) are recorded
before anything is written, and everything the batch produces (analysed trades, alerts, dead
letters) is written in one go at the end: a batch that fails anywhere writes nothing of its own
and is reported back as failed, and its retry, answered from the ledger, writes exactly what the
failed attempt would have.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.codec import (
    ORDERS_SUBJECT,
    TRADES_SUBJECT,
    AvroCodec,
    AvroEncodeError,
    CodecError,
    RegistryUnavailable,
)
from riskengine.engine import Evaluation, RiskEngine
from riskengine.errors import InvalidRecord, SinkError, StateStoreError
from riskengine.model import ORDER_ARRIVAL_SUFFIX, Event, SourceRecord
from riskengine.msk import arrival_order, batch_item_failures
from riskengine.sinks.base import DeadLetter, Sink
from riskengine.validation import (
    DEFAULT_MAX_FUTURE_SKEW_MS,
    DEFAULT_MAX_TRADE_AGE_MS,
    validate_order,
    validate_trade,
)

logger = logging.getLogger(__name__)
CONFLICTING_DUPLICATE = "conflicting_duplicate"


@dataclass(frozen=True, slots=True)
class RecordKind:
    """What a processor's topic carries: the schema subject its records are encoded with, how a
    decoded record is validated (raising InvalidRecord) and what the records' arrival keys end with."""

    subject: str
    validate: Callable[..., Event]
    arrival_suffix: str = ""


TRADES = RecordKind(TRADES_SUBJECT, validate_trade)
ORDER_EVENTS = RecordKind(ORDERS_SUBJECT, validate_order, ORDER_ARRIVAL_SUFFIX)


@dataclass(slots=True)
class BatchOutcome:
    received: int = 0
    scored: int = 0
    duplicates: int = 0
    redelivered: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # new alerts: (pattern, severity) -> count
    alerts_republished: int = 0
    alerts_suppressed: int = 0
    late_trades: int = 0
    rule_failures: int = 0
    failure: str | None = None
    failed_records: Sequence[SourceRecord] = ()
    latency_ms: float = 0.0
    evaluation: Evaluation | None = field(default=None, repr=False)

    def response(self) -> dict[str, Any]:
        """The partial-batch response for the trigger: empty unless the whole batch must be retried."""
        return batch_item_failures(self.failed_records)


@dataclass(slots=True)
class BatchProcessor:
    engine: RiskEngine
    codec: AvroCodec
    sink: Sink
    max_future_skew_ms: int = DEFAULT_MAX_FUTURE_SKEW_MS
    max_trade_age_ms: int = DEFAULT_MAX_TRADE_AGE_MS
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    kind: RecordKind = TRADES

    def process(self, records: Sequence[SourceRecord]) -> BatchOutcome:
        started = time.perf_counter()
        outcome = BatchOutcome(received=len(records))
        try:
            events, letters = self._accept(arrival_order(records))
            evaluation = self.engine.evaluate(events)
            letters += self._conflicts(evaluation, records)
            recording = self.engine.commit(evaluation)  # Redis records while the results are encoded
            prepared = self.sink.prepare(evaluation.analyzed, evaluation.alerts, letters)
            recording.result()
            self.sink.send(prepared)
        except (RegistryUnavailable, StateStoreError, SinkError) as exc:
            logger.error("batch of %d records failed and will be retried: %s", len(records), exc)
            outcome.failure, outcome.failed_records = exc.detail, records
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            return outcome
        outcome.evaluation = evaluation
        outcome.dead_letters.update(letter.reason for letter in letters)
        outcome.scored = len(evaluation.analyzed)
        outcome.duplicates = evaluation.duplicates
        outcome.redelivered = evaluation.redelivered
        outcome.alerts.update((a["patternType"], a["severity"]) for a in evaluation.new_alerts)
        outcome.alerts_republished = evaluation.republished_alerts
        outcome.alerts_suppressed = evaluation.extended_episodes
        outcome.late_trades = evaluation.late_trades
        outcome.rule_failures = len(evaluation.rule_failures)
        outcome.latency_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _accept(self, records: Sequence[SourceRecord]) -> tuple[list[Event], list[DeadLetter]]:
        """Decoded, valid events in arrival order, and a dead letter for every other record."""
        now = self.clock_ms()
        kind = self.kind
        events: list[Event] = []
        letters: list[DeadLetter] = []
        for record in records:
            try:
                if not record.value:
                    raise InvalidRecord("record has no value", reason="empty_value")
                raw = self.codec.decode(kind.subject, record.value)
                event = kind.validate(
                    raw,
                    now_ms=now,
                    max_future_skew_ms=self.max_future_skew_ms,
                    max_age_ms=self.max_trade_age_ms,
                    arrival=record.arrival + kind.arrival_suffix,
                    content=self._content(record.value, raw),
                )
            except RegistryUnavailable:
                raise  # not the record's fault: retry the batch rather than dead-letter good data
            except (CodecError, InvalidRecord) as exc:
                letters.append(_dead_letter(record, exc.reason, exc.detail))
                continue
            events.append(event)
        return events, letters

    def _content(self, value: bytes, raw: dict[str, Any]) -> bytes:
        """The event's canonical Avro body: the same for every copy whatever its encoding."""
        try:
            return self.codec.canonical_body(self.kind.subject, value, raw)
        except AvroEncodeError:  # not a valid record: validation says why; it is never used
            return b""

    def _conflicts(self, evaluation: Evaluation, records: Sequence[SourceRecord]) -> list[DeadLetter]:
        if not evaluation.conflicts:
            return []
        by_arrival = {record.arrival + self.kind.arrival_suffix: record for record in records}
        return [
            _dead_letter(by_arrival[conflict.event.arrival], CONFLICTING_DUPLICATE, conflict.detail)
            for conflict in evaluation.conflicts
        ]


def _dead_letter(record: SourceRecord, reason: str, detail: str) -> DeadLetter:
    logger.warning("dead-lettering %s: %s (%s)", record.position, reason, detail)
    return DeadLetter(record, reason, detail)
