"""A local stand-in for the Lambda event source mapping (the MSK trigger).

It consumes a topic in a consumer group, cuts batches the way the trigger does (at most
``batch_size`` records, or whatever arrived within ``batching_window_ms`` of the first),
hands each batch to a function as an MSK-shaped event, and commits offsets only after the
function returned without reporting failures. A partial-batch response rewinds each failed
partition to its failed offset and the batch is retried, as the real trigger does.
"""

from __future__ import annotations

import heapq
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from riskengine.errors import RiskEngineError
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine_tools.local.paths import import_handler

logger = logging.getLogger(__name__)
Invoke = Callable[[dict[str, Any]], dict[str, Any] | None]
LOCAL_CLUSTER_ARN = (
    "arn:aws:kafka:us-east-1:000000000000:cluster/riskengine-local/00000000-0000-0000-0000-000000000000-1"
)


class BridgeError(RiskEngineError):
    """A batch kept failing beyond the retry limit; the bridge stops rather than skip it."""

    reason = "batch_retries_exhausted"


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    bootstrap_servers: str
    topic: str = "crypto-trades"
    group_id: str = "riskengine-score-trades"
    batch_size: int = 100
    batching_window_ms: int = 500
    session_timeout_ms: int = 6_000
    alignment_wait_ms: int = 1_000
    max_retry_attempts: int = 5
    retry_backoff_s: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError(f"batch_size must be within 1..10000 (the trigger's limit), got {self.batch_size}")
        if not 0 <= self.batching_window_ms <= 300_000:
            raise ValueError(f"batching_window_ms must be within 0..300000, got {self.batching_window_ms}")


@dataclass(slots=True)
class BridgeStats:
    batches: int = 0
    records: int = 0
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LocalContext:
    """The attributes of a LambdaContext that handlers and Powertools read."""

    function_name: str = "score-trades-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:score-trades-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/score-trades-local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def load_handler(path: Path, attribute: str = "lambda_handler") -> Invoke:
    """Import a function's ``handler.py`` from its folder and call it like Lambda would."""
    handler = getattr(import_handler(path), attribute)
    return lambda event: handler(event, LocalContext())


class EventSourceMappingBridge:
    def __init__(self, config: BridgeConfig, invoke: Invoke) -> None:
        self.config = config
        self._invoke = invoke
        self.stats = BridgeStats()
        self._buffers: defaultdict[TopicPartition, deque[ConsumerRecord]] = defaultdict(deque)
        self._consumer = KafkaConsumer(
            config.topic,
            bootstrap_servers=config.bootstrap_servers.split(","),
            group_id=config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=max(config.session_timeout_ms // 3, 1_000),
            max_poll_records=config.batch_size,
            max_poll_interval_ms=900_000,
        )

    def run(
        self, until: Callable[[BridgeStats], bool], on_batch: Callable[[int, float], None] | None = None
    ) -> BridgeStats:
        """Deliver batches until ``until(stats)`` is true; ``on_batch(records, latency_ms)`` after each."""
        while not until(self.stats):
            batch = self._next_batch()
            if batch:
                latency = self._deliver(batch)
                if on_batch is not None:
                    on_batch(len(batch), latency)
        return self.stats

    def joined(self) -> bool:
        """Whether the bridge holds partitions yet (its first polls join the consumer group)."""
        return bool(self._consumer.assignment())

    def close(self) -> None:
        self._consumer.close()

    def _next_batch(self) -> list[ConsumerRecord]:
        """Up to ``batch_size`` records, cut like the trigger: when full or when the window closes.

        Records wait in per-partition buffers and leave them in record-timestamp order, so
        partitions advance together in event time however unevenly the broker serves them,
        as the trigger's independent per-partition pollers would. A batch waits up to
        ``alignment_wait_ms`` more for a partition that has nothing buffered yet.
        """
        started: float | None = None
        while True:
            polled = self._consumer.poll(timeout_ms=50, max_records=4 * self.config.batch_size)
            for tp, records in polled.items():
                self._buffers[tp].extend(records)
            if not any(self._buffers.values()):
                return []
            now = time.monotonic()
            started = now if started is None else started
            waited_ms = (now - started) * 1000
            depths = [len(self._buffers[tp]) for tp in self._consumer.assignment()]
            if all(depth >= self.config.batch_size for depth in depths):
                return self._take(self.config.batch_size)
            if waited_ms >= self.config.batching_window_ms and (
                all(depths) or waited_ms >= self.config.batching_window_ms + self.config.alignment_wait_ms
            ):
                return self._take(self.config.batch_size)

    def _take(self, count: int) -> list[ConsumerRecord]:
        heads = [(buffer[0].timestamp, tp.partition, tp) for tp, buffer in self._buffers.items() if buffer]
        heapq.heapify(heads)
        batch: list[ConsumerRecord] = []
        while heads and len(batch) < count:
            _, _, tp = heapq.heappop(heads)
            buffer = self._buffers[tp]
            batch.append(buffer.popleft())
            if buffer:
                heapq.heappush(heads, (buffer[0].timestamp, tp.partition, tp))
        return batch

    def _deliver(self, batch: list[ConsumerRecord]) -> float:
        """Invoke until the whole batch succeeded; returns the latency of the successful call."""
        pending = batch
        for attempt in range(self.config.max_retry_attempts + 1):
            event = build_event(
                (source_record(r) for r in pending),
                cluster_arn=LOCAL_CLUSTER_ARN,
                bootstrap_servers=self.config.bootstrap_servers,
            )
            started = time.perf_counter()
            retry_from = self._invoke_once(event, pending)
            latency = (time.perf_counter() - started) * 1000
            done = [r for r in pending if r.offset < retry_from.get((r.topic, r.partition), r.offset + 1)]
            self._commit(done)
            pending = pending[len(done) :] if len(done) == len(pending) else [r for r in pending if r not in done]
            if not pending:
                self.stats.batches += 1
                self.stats.records += len(batch)
                self.stats.latencies_ms.append(latency)
                return latency
            self.stats.retries += 1
            logger.warning("%d records failed (attempt %d); retrying from %s", len(pending), attempt + 1, retry_from)
            time.sleep(self.config.retry_backoff_s * 2**attempt)
        raise BridgeError(f"{len(pending)} records still failing after {self.config.max_retry_attempts} retries")

    def _invoke_once(self, event: dict[str, Any], pending: list[ConsumerRecord]) -> dict[tuple[str, int], int]:
        """The offset each failed partition must be retried from (empty when all succeeded)."""
        try:
            response = self._invoke(event) or {}
        except Exception:  # the trigger treats a function error as a failure of the whole batch
            logger.exception("function raised; the whole batch is retried")
            earliest: dict[tuple[str, int], int] = {}
            for r in pending:
                earliest[(r.topic, r.partition)] = min(r.offset, earliest.get((r.topic, r.partition), r.offset))
            return earliest
        return failed_from(response)

    def _commit(self, batch: list[ConsumerRecord]) -> None:
        next_offsets: dict[TopicPartition, int] = {}
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            next_offsets[tp] = max(record.offset + 1, next_offsets.get(tp, 0))
        if next_offsets:
            self._consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in next_offsets.items()})


def failed_from(response: dict[str, Any]) -> dict[tuple[str, int], int]:
    """The offset each partition named in a partial-batch response must be retried from."""
    failed: dict[tuple[str, int], int] = {}
    for item in response.get("batchItemFailures") or []:
        topic, _, partition = item["itemIdentifier"]["partition"].rpartition("-")
        failed[(topic, int(partition))] = int(item["itemIdentifier"]["offset"])
    return failed


def source_record(record: ConsumerRecord) -> SourceRecord:
    """A consumed record as the trigger hands it to a function."""
    return SourceRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record.timestamp,
        key=record.key,
        value=record.value,
        headers=tuple((name, value or b"") for name, value in record.headers or ()),
    )
