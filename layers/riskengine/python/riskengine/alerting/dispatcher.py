"""From an MSK batch of RiskAlerts to SNS messages, at most once per alert id and never lost.

Order per batch: decode (what cannot be decoded goes to the dead-letter topic), read Redis (sent
ids + this minute's counts, one round trip), plan (skip sent, digest storms), publish in tens with
retries, mark what SNS accepted (one round trip), answer the trigger with the records whose
message (or dead letter) still failed so it retries them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer

from riskengine.alerting.config import DispatchConfig
from riskengine.alerting.messages import SnsMessage
from riskengine.alerting.planning import Decoded, plan_batch
from riskengine.alerting.publisher import SnsClient, SnsPublisher
from riskengine.alerting.state import DispatchState
from riskengine.codec import ALERTS_SUBJECT, AvroCodec, CodecError, RegistryUnavailable, registry_from_env
from riskengine.model import SourceRecord
from riskengine.msk import batch_item_failures
from riskengine.runtime import redis_client
from riskengine.settings import Settings
from riskengine.sinks import DeadLetter, DeadLetterWriter

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class DispatchOutcome:
    received: int = 0
    delivered: int = 0
    digested: int = 0
    digests_sent: int = 0
    already_sent: int = 0
    undecodable: int = 0  # dead-lettered with the codec's reason
    failed_records: list[SourceRecord] = field(default_factory=list)

    @property
    def delivery_failures(self) -> int:
        return len(self.failed_records)

    def response(self) -> dict[str, Any]:
        """The partial-batch response: the trigger redelivers each failed partition from its earliest failure."""
        return batch_item_failures(self.failed_records)


class AlertDispatcher:
    def __init__(
        self,
        codec: AvroCodec,
        state: DispatchState,
        publisher: SnsPublisher,
        config: DispatchConfig,
        dead_letters: DeadLetterWriter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._codec = codec
        self._state = state
        self._publisher = publisher
        self._config = config
        self._dead_letters = dead_letters
        self._clock = clock

    def dispatch(self, records: Sequence[SourceRecord]) -> DispatchOutcome:
        outcome = DispatchOutcome(received=len(records))
        try:
            alerts, letters = self._decode(records)
        except RegistryUnavailable:
            logger.exception("schema registry unavailable: the whole batch is retried")
            outcome.failed_records = list(records)
            return outcome
        unsent = self._dead_letters.write(letters)
        outcome.undecodable = len(letters) - len(unsent)
        if not alerts:
            outcome.failed_records = [letter.record for letter in unsent]
            return outcome
        minute = int(self._clock() // 60)
        ids = [alert["alertId"] for _, alert in alerts]
        patterns = sorted({alert["patternType"] for _, alert in alerts})
        sent, counts = self._state.read(ids, patterns, minute)
        plan = plan_batch(alerts, sent, counts, self._config.max_per_pattern_per_minute, self._config.dashboard_url)
        result = self._publisher.publish(plan.messages)
        delivered_ids = [alert_id for m in result.delivered for alert_id in m.alert_ids]
        per_pattern = _individual_per_pattern(result.delivered)
        self._state.mark(delivered_ids, per_pattern, minute)
        outcome.already_sent = plan.already_sent
        outcome.delivered = sum(per_pattern.values())
        digests = [m for m in result.delivered if m.is_digest]
        outcome.digests_sent = len(digests)
        outcome.digested = sum(len(m.alert_ids) for m in digests)
        failed = [r for m in result.failed for r in m.records] + [letter.record for letter in unsent]
        outcome.failed_records = failed
        return outcome

    def _decode(self, records: Sequence[SourceRecord]) -> tuple[list[Decoded], list[DeadLetter]]:
        """An alert that cannot be decoded can never be delivered: dead-letter it with the reason (no retry loop)."""
        alerts: list[Decoded] = []
        letters: list[DeadLetter] = []
        for record in records:
            try:
                if record.value is None:
                    raise CodecError("empty value", reason="empty_value")
                alerts.append((record, self._codec.decode(ALERTS_SUBJECT, record.value)))
            except RegistryUnavailable:
                raise
            except CodecError as exc:
                logger.error("undecodable alert at %s: %s", record.position, exc)
                letters.append(DeadLetter(record, exc.reason, exc.detail))
        return alerts, letters


def _individual_per_pattern(messages: Sequence[SnsMessage]) -> dict[str, int]:
    """Only single-alert messages count towards the per-minute limit; a digest is the overflow itself."""
    counts: dict[str, int] = {}
    for message in messages:
        if not message.is_digest:
            pattern = message.attributes["patternType"]
            counts[pattern] = counts.get(pattern, 0) + 1
    return counts


def sns_client(endpoint_url: str | None) -> SnsClient:
    """boto3 is imported here: the Lambda runtime provides it, local tools without it never get here."""
    import boto3
    from botocore.config import Config

    # Our own bounded backoff decides retries; botocore's would multiply them.
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10)
    return boto3.client("sns", endpoint_url=endpoint_url, config=config)


@functools.cache
def default_dispatcher() -> AlertDispatcher:
    """Clients are created once per container and reused by every warm invocation."""
    config, settings = DispatchConfig.from_env(), Settings.from_env()
    state = DispatchState(redis_client(settings), config.sent_ttl_s)
    publisher = SnsPublisher(sns_client(config.endpoint_url), config.topic_arn)
    producer_config = settings.kafka.producer_config()
    dead_letters = DeadLetterWriter(lambda: KafkaProducer(**producer_config), config.dead_letter_topic)
    return AlertDispatcher(AvroCodec(registry_from_env()), state, publisher, config, dead_letters)
