"""The Lambda MSK / self-managed Kafka trigger contract: events in, partial-batch responses out.

Event shape (see shared/reference/msk-event.json): records grouped by "topic-partition",
base64 key and value, headers as a list of one-entry objects whose value is the header's
bytes as a list of integers.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from riskengine.errors import RiskEngineError
from riskengine.model import SourceRecord, check_arrival

EVENT_SOURCES = frozenset({"aws:kafka", "SelfManagedKafka"})


class MalformedEvent(RiskEngineError):
    """The trigger event itself is not MSK-shaped: a deployment error, not bad data."""

    reason = "malformed_event"


def parse_event(event: Mapping[str, Any]) -> list[SourceRecord]:
    """All records of the event, partition by partition, in offset order."""
    if event.get("eventSource") not in EVENT_SOURCES or not isinstance(event.get("records"), Mapping):
        raise MalformedEvent(
            f"not a Kafka trigger event (eventSource={event.get('eventSource')!r}); expected one of "
            f"{sorted(EVENT_SOURCES)} with a 'records' object"
        )
    records: list[SourceRecord] = []
    for partition, batch in event["records"].items():
        if not isinstance(batch, list):
            raise MalformedEvent(f"records[{partition!r}] must be a list of records, got {type(batch).__name__}")
        records.extend(sorted((_record(raw) for raw in batch), key=lambda r: r.offset))
    return records


def arrival_order(records: Iterable[SourceRecord]) -> list[SourceRecord]:
    """``records`` in the order they reached Kafka, as a stream of batches of one would see them.

    Each partition keeps its offset order; partitions are merged by record timestamp (ties by
    topic and partition). The order depends only on the records, never on how the trigger grouped
    them into batches, so the engine's results do not either.
    """
    lanes: dict[tuple[str, int], list[SourceRecord]] = {}
    for record in records:
        lanes.setdefault((record.topic, record.partition), []).append(record)
    ordered = [sorted(lane, key=_offset) for _, lane in sorted(lanes.items())]
    if len(ordered) == 1:
        return ordered[0]
    return list(heapq.merge(*ordered, key=_timestamp))


def _offset(record: SourceRecord) -> int:
    return record.offset


def _timestamp(record: SourceRecord) -> int:
    return record.timestamp


def _record(raw: Mapping[str, Any]) -> SourceRecord:
    try:
        partition, offset = int(raw["partition"]), int(raw["offset"])
        check_arrival(partition, offset)  # raises ValueError beyond what arrival keys can order
        return SourceRecord(
            topic=raw["topic"],
            partition=partition,
            offset=offset,
            timestamp=int(raw.get("timestamp", 0)),
            key=_b64(raw.get("key")),
            value=_b64(raw.get("value")),
            headers=_headers(raw.get("headers", [])),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise MalformedEvent(f"record is not MSK-shaped: {exc!r}") from exc


def _headers(headers: list[dict[str, list[int]]]) -> tuple[tuple[str, bytes], ...]:
    if headers == []:  # the usual record has none
        return ()
    return tuple((name, bytes(value)) for header in headers for name, value in header.items())


def _b64(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        # Strict mode accepts only what b64decode(validate=True) accepts (and decodes it alike), without
        # its regular expression over the value; anything it rejects gets b64decode's own error.
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError, TypeError):
        return base64.b64decode(value, validate=True)


def build_event(
    records: Iterable[SourceRecord], *, cluster_arn: str | None = None, bootstrap_servers: str = ""
) -> dict[str, Any]:
    """An event exactly as the trigger would deliver ``records`` (used by the bridge and benchmarks)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(f"{record.topic}-{record.partition}", []).append(
            {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "timestamp": record.timestamp,
                "timestampType": "CREATE_TIME",
                "key": None if record.key is None else base64.b64encode(record.key).decode(),
                "value": None if record.value is None else base64.b64encode(record.value).decode(),
                "headers": [{name: list(value)} for name, value in record.headers],
            }
        )
    event: dict[str, Any] = {
        "eventSource": "aws:kafka" if cluster_arn else "SelfManagedKafka",
        "bootstrapServers": bootstrap_servers,
        "records": grouped,
    }
    if cluster_arn:
        event["eventSourceArn"] = cluster_arn
    return event


def batch_item_failures(records: Sequence[SourceRecord]) -> dict[str, list[dict[str, Any]]]:
    """A partial-batch response that makes the trigger retry ``records`` from the earliest per partition."""
    earliest: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        earliest[key] = min(earliest.get(key, record.offset), record.offset)
    return {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": f"{topic}-{partition}", "offset": offset}}
            for (topic, partition), offset in sorted(earliest.items())
        ]
    }
