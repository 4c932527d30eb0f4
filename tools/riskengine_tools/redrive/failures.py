"""Lambda's records of a Kafka trigger's failed records, read back into the records themselves.

Lambda documents two shapes (docs/runbook.md cites the pages):

* a **Kafka on-failure destination** (what the CDK app configures) gets one message per failed record:
  the failure metadata plus ``payload``, an MSK trigger event holding that record (its value base64);
* an **SQS, SNS or S3 destination** gets the metadata alone: ``KafkaBatchInfo.recordsInfo`` maps each
  ``<topic>-<partition>`` of the batch to its first and last offset, and the records must be fetched
  from the source topic by those coordinates.

Either way a message names the function that gave up on it (``requestContext.functionArn``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskengine.errors import RiskEngineError
from riskengine.model import SourceRecord
from riskengine.msk import MalformedEvent, parse_event

__all__ = ["FailedInvocation", "OffsetRange", "UnreadableFailureRecord", "parse_failure"]


class UnreadableFailureRecord(RiskEngineError):
    """A message of the failure topic that is not a record Lambda writes for a failed Kafka batch."""

    reason = "unreadable_failure_record"


@dataclass(frozen=True, slots=True)
class OffsetRange:
    """Records ``first``..``last`` (inclusive) of one source partition, known only by their coordinates."""

    topic: str
    partition: int
    first: int
    last: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}@{self.first}..{self.last}"


@dataclass(frozen=True, slots=True)
class FailedInvocation:
    """One failure message: which function gave up, why, and the records (or their coordinates)."""

    function: str
    condition: str
    invoke_count: int
    records: tuple[SourceRecord, ...]
    ranges: tuple[OffsetRange, ...]
    position: str  # where the message itself sits: "<failure-topic>-<partition>@<offset>"


def parse_failure(value: bytes | None, position: str) -> FailedInvocation:
    """Read one message of a failure topic; :class:`UnreadableFailureRecord` says what is wrong with it."""
    try:
        document = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFailureRecord(f"{position}: not JSON ({exc})") from exc
    if not isinstance(document, Mapping):
        raise UnreadableFailureRecord(f"{position}: expected a JSON object, got {type(document).__name__}")
    context = _object(document, "requestContext", position)
    batch = _object(document, "KafkaBatchInfo", position)
    records = _payload_records(document.get("payload"), position)
    ranges = () if records else _ranges(batch, position)
    if not records and not ranges:
        raise UnreadableFailureRecord(f"{position}: neither a payload nor KafkaBatchInfo.recordsInfo coordinates")
    return FailedInvocation(
        function=_function_name(context.get("functionArn"), position),
        condition=str(context.get("condition", "")),
        invoke_count=int(context.get("approximateInvokeCount") or 0),
        records=records,
        ranges=ranges,
        position=position,
    )


def _object(document: Mapping[str, Any], key: str, position: str) -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, Mapping):
        raise UnreadableFailureRecord(f"{position}: no {key} object (is this a Lambda failure record?)")
    return value


def _function_name(arn: object, position: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` -> ``<name>``."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise UnreadableFailureRecord(f"{position}: requestContext.functionArn is not a function ARN: {arn!r}")
    return parts[6]


def _payload_records(payload: object, position: str) -> tuple[SourceRecord, ...]:
    if payload is None:
        return ()
    if isinstance(payload, str):  # S3 destinations carry the event as a string
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise UnreadableFailureRecord(f"{position}: payload is not an MSK event ({exc})") from exc
    if not isinstance(payload, Mapping):
        raise UnreadableFailureRecord(f"{position}: payload is not an MSK event")
    try:
        return tuple(parse_event(payload))
    except (MalformedEvent, KeyError, TypeError, ValueError) as exc:
        raise UnreadableFailureRecord(f"{position}: payload is not an MSK event ({exc!r})") from exc


def _ranges(batch: Mapping[str, Any], position: str) -> tuple[OffsetRange, ...]:
    info = batch.get("recordsInfo")
    if not isinstance(info, Mapping):
        return ()
    ranges: list[OffsetRange] = []
    for topic_partition, span in info.items():
        topic, _, partition = str(topic_partition).rpartition("-")
        try:
            first, last = int(span["firstRecordOffset"]), int(span["lastRecordOffset"])
            ranges.append(OffsetRange(topic, int(partition), first, last))
        except (KeyError, TypeError, ValueError) as exc:
            raise UnreadableFailureRecord(f"{position}: recordsInfo[{topic_partition!r}] unreadable ({exc})") from exc
        if not topic or first > last:
            raise UnreadableFailureRecord(f"{position}: recordsInfo[{topic_partition!r}] is not a partition range")
    return tuple(ranges)
