"""One trigger batch end to end: decode, validate, evaluate, write, then remember.

Order matters for "nothing lost, nothing doubled": results (and dead letters) are flushed
before alerts are marked as sent, and a batch whose state or results could not be written
is reported back as failed so the trigger retries it; state changes are idempotent, so
the retry is safe.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine.codec import TRADES_SUBJECT, AvroCodec, CodecError, RegistryUnavailable
from riskengine.engine import Evaluation, RiskEngine
from riskengine.errors import InvalidTrade, SinkError, StateStoreError
from riskengine.model import SourceRecord, Trade
from riskengine.msk import batch_item_failures
from riskengine.sinks.base import DeadLetter, Sink
from riskengine.validation import validate_trade

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class BatchOutcome:
    received: int = 0
    scored: int = 0
    duplicates: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (pattern, severity) -> count
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
    max_future_skew_ms: int = 300_000
    clock_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))

    def process(self, records: Sequence[SourceRecord]) -> BatchOutcome:
        started = time.perf_counter()
        outcome = BatchOutcome(received=len(records))
        try:
            trades = self._accept(records, outcome)
            evaluation = self.engine.evaluate(trades)
            self.sink.publish(evaluation.analyzed, evaluation.alerts)
            self.sink.flush()
        except (RegistryUnavailable, StateStoreError, SinkError) as exc:
            logger.error("batch of %d records failed and will be retried: %s", len(records), exc)
            outcome.failure, outcome.failed_records = exc.detail, records
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            return outcome
        self._remember(evaluation)
        outcome.evaluation = evaluation
        outcome.scored = len(evaluation.analyzed)
        outcome.alerts.update((a["patternType"], a["severity"]) for a in evaluation.alerts)
        outcome.alerts_suppressed = evaluation.suppressed_alerts
        outcome.late_trades = evaluation.late_trades
        outcome.rule_failures = len(evaluation.rule_failures)
        outcome.latency_ms = (time.perf_counter() - started) * 1000
        return outcome

    def _accept(self, records: Sequence[SourceRecord], outcome: BatchOutcome) -> list[Trade]:
        """Decoded, valid, first-seen trades; everything else is dead-lettered or counted."""
        now = self.clock_ms()
        trades: list[Trade] = []
        seen: set[str] = set()
        for record in records:
            try:
                if not record.value:
                    raise InvalidTrade("record has no value", reason="empty_value")
                raw = self.codec.decode(TRADES_SUBJECT, record.value)
                trade = validate_trade(raw, now_ms=now, max_future_skew_ms=self.max_future_skew_ms)
            except RegistryUnavailable:
                raise  # not the record's fault: retry the batch rather than dead-letter good data
            except (CodecError, InvalidTrade) as exc:
                self._reject(record, exc.reason, exc.detail, outcome)
                continue
            if trade.trade_id in seen:  # a producer retry inside one batch: score it once
                outcome.duplicates += 1
                continue
            seen.add(trade.trade_id)
            trades.append(trade)
        return trades

    def _reject(self, record: SourceRecord, reason: str, detail: str, outcome: BatchOutcome) -> None:
        logger.warning("dead-lettering %s: %s (%s)", record.position, reason, detail)
        self.sink.dead_letter(DeadLetter(record, reason, detail))
        outcome.dead_letters[reason] += 1

    def _remember(self, evaluation: Evaluation) -> None:
        try:
            self.engine.commit(evaluation)
        except StateStoreError as exc:
            # The alerts are already written; failing the batch now would write them again.
            logger.error(
                "could not record %d alert marks (a redelivery may repeat them): %s", len(evaluation.marks), exc
            )
