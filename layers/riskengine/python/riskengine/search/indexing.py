"""From an MSK batch of analysed trades and alerts to OpenSearch documents, none lost and none doubled.

Per batch: decode each record by its topic, build its document, bulk-index everything (the
document ``_id`` is tradeId / alertId and the daily index follows the event time, so a redelivered
record overwrites its first copy), dead-letter what can never be indexed, and answer the trigger
with the records that still failed so it retries them.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer

from riskengine.codec import (
    ALERTS_SUBJECT,
    ANALYZED_TRADES_SUBJECT,
    AvroCodec,
    CodecError,
    RegistryUnavailable,
    registry_from_env,
)
from riskengine.model import SourceRecord
from riskengine.msk import batch_item_failures
from riskengine.search.bulk import BulkIndexer, IndexAction, Rejection
from riskengine.search.client import create_client
from riskengine.search.config import SearchConfig
from riskengine.search.documents import alert_document, analyzed_trade_document
from riskengine.search.indices import ALERTS, ANALYZED_TRADES, IndexFamily
from riskengine.settings import Settings
from riskengine.sinks import DeadLetter, DeadLetterWriter, Topics

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """How the records of one topic become documents."""

    subject: str
    family: IndexFamily
    to_document: Callable[[dict[str, Any]], dict[str, Any]]


def routes(topics: Topics) -> dict[str, Route]:
    return {
        topics.analyzed: Route(ANALYZED_TRADES_SUBJECT, ANALYZED_TRADES, analyzed_trade_document),
        topics.alerts: Route(ALERTS_SUBJECT, ALERTS, alert_document),
    }


@dataclass(slots=True)
class IndexingOutcome:
    received: int = 0
    indexed: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    failed_records: list[SourceRecord] = field(default_factory=list)
    bulk_attempts: int = 0

    def response(self) -> dict[str, Any]:
        """The partial-batch response: the trigger redelivers each failed partition from its earliest failure."""
        return batch_item_failures(self.failed_records)


class SearchIndexer:
    def __init__(
        self, codec: AvroCodec, bulk: BulkIndexer, dead_letters: DeadLetterWriter, routes: Mapping[str, Route]
    ) -> None:
        self._codec = codec
        self._bulk = bulk
        self._dead_letters = dead_letters
        self._routes = routes

    def process(self, records: Sequence[SourceRecord]) -> IndexingOutcome:
        outcome = IndexingOutcome(received=len(records))
        try:
            actions, letters = self._actions(records)
        except RegistryUnavailable:
            logger.exception("schema registry unavailable: the whole batch is retried")
            outcome.failed_records = list(records)
            return outcome
        result = self._bulk.index(actions)
        outcome.indexed, outcome.bulk_attempts = result.indexed, result.attempts
        letters.extend(_rejected(rejection) for rejection in result.rejected)
        unsent = self._dead_letters.write(letters)
        unsent_ids = {id(letter) for letter in unsent}
        stored = [letter for letter in letters if id(letter) not in unsent_ids]
        outcome.dead_lettered.update(letter.reason for letter in stored)
        for letter in stored:
            logger.warning("dead-lettered %s: %s (%s)", letter.record.position, letter.reason, letter.detail)
        outcome.failed_records = [a.source for a in result.failed] + [letter.record for letter in unsent]
        return outcome

    def close(self) -> None:
        self._dead_letters.close()

    def _actions(self, records: Sequence[SourceRecord]) -> tuple[list[IndexAction], list[DeadLetter]]:
        actions: list[IndexAction] = []
        letters: list[DeadLetter] = []
        for record in records:
            route = self._routes.get(record.topic)
            if route is None:
                letters.append(DeadLetter(record, "unknown_topic", f"no index for topic {record.topic!r}"))
                continue
            try:
                actions.append(self._action(record, route))
            except RegistryUnavailable:
                raise
            except CodecError as exc:
                letters.append(DeadLetter(record, exc.reason, exc.detail))
            except (KeyError, TypeError, ValueError) as exc:
                letters.append(DeadLetter(record, "invalid_document", f"cannot build the document: {exc!r}"))
        return actions, letters

    def _action(self, record: SourceRecord, route: Route) -> IndexAction:
        if record.value is None:
            raise CodecError("empty value", reason="empty_value")
        document = route.to_document(self._codec.decode(route.subject, record.value))
        family = route.family
        return IndexAction(
            family.index_for(int(document[family.time_field])), str(document[family.id_field]), document, record
        )


def _rejected(rejection: Rejection) -> DeadLetter:
    detail = f"HTTP {rejection.status} {rejection.error_type}: {rejection.reason} (index {rejection.action.index})"
    return DeadLetter(rejection.action.source, "unindexable", detail)


@functools.cache
def default_search_indexer() -> SearchIndexer:
    """Clients are created once per container and reused by every warm invocation."""
    settings, config = Settings.from_env(), SearchConfig.from_env()
    # The bulk indexer owns retries (per item, with backoff); the client's own would multiply them.
    bulk = BulkIndexer(create_client(config, max_retries=0))
    producer_config = settings.kafka.producer_config()
    dead_letters = DeadLetterWriter(lambda: KafkaProducer(**producer_config), config.dead_letter_topic)
    return SearchIndexer(AvroCodec(registry_from_env()), bulk, dead_letters, routes(settings.topics))


def close_default_search_indexer() -> None:
    """Release the container-wide indexer's producer and forget it (local tools and tests)."""
    if default_search_indexer.cache_info().currsize:
        default_search_indexer().close()
    default_search_indexer.cache_clear()
