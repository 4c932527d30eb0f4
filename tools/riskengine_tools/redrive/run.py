"""Redrive: the records a Kafka trigger gave up on, fed through their function's handler path again.

Read the failure topic (from the redrive group's committed offsets, or from the beginning), recover
each failed record (carried in the message, or fetched from its source partition by coordinates),
and hand them to the function that failed them as MSK trigger events, partition order kept and
partitions merged by record time as the trigger would. The handlers are idempotent (the trade
ledger, alert marks, sent-once alert state, index ids), so redriving a record twice changes nothing.
The redrive group's offsets are committed only when every record went through, so a failed or
partial run is simply run again.
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from riskengine.errors import RiskEngineError
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine_tools.local.bridge import failed_from, source_record
from riskengine_tools.redrive.failures import FailedInvocation, OffsetRange, UnreadableFailureRecord, parse_failure

__all__ = ["Deliver", "FailureTopicUnavailable", "FunctionReport", "RedriveOptions", "RedriveReport", "redrive"]

# (function name, MSK trigger event) -> the function's partial-batch response; raises when it failed outright.
Deliver = Callable[[str, dict[str, Any]], dict[str, Any] | None]
Progress = Callable[[int, int], None]  # (records handed over so far, records to hand over)


class FailureTopicUnavailable(RiskEngineError):
    """The failure topic cannot be read (missing, or the broker is unreachable)."""

    reason = "failure_topic_unavailable"


@dataclass(frozen=True, slots=True)
class RedriveOptions:
    bootstrap_servers: str
    failure_topic: str = "riskengine-trigger-failures"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    group_id: str = "riskengine-redrive"
    from_beginning: bool = False
    functions: frozenset[str] = frozenset()  # only failures of these functions (empty: all)
    batch_size: int = 100
    idle_ms: int = 3_000  # the failure topic is read until it has been quiet this long
    dry_run: bool = False

    def consumer_config(self, group_id: str | None) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
            "group_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
        }
        if self.sasl_mechanism:
            config["sasl_mechanism"] = self.sasl_mechanism
        return config


@dataclass(slots=True)
class FunctionReport:
    function: str
    messages: int = 0  # failure messages naming this function
    records: int = 0  # distinct failed records recovered
    fetched: int = 0  # of which fetched from their source partition by coordinates
    missing: list[str] = field(default_factory=list)  # coordinates whose records are gone (retention)
    redriven: int = 0
    still_failing: list[str] = field(default_factory=list)  # positions the function failed again


@dataclass(slots=True)
class RedriveReport:
    dry_run: bool
    functions: dict[str, FunctionReport] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    skipped: int = 0  # failure messages of functions not asked for
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.unreadable and not any(r.missing or r.still_failing for r in self.functions.values())


def redrive(options: RedriveOptions, deliver: Deliver, progress: Progress | None = None) -> RedriveReport:
    """Redrive every failure message after the redrive group's offsets; see the module's docstring."""
    report = RedriveReport(dry_run=options.dry_run)
    with closing(KafkaConsumer(**options.consumer_config(options.group_id))) as consumer:
        invocations, next_offsets = _read_failures(consumer, options, report)
        recovered = _recover(invocations, options, report)
        total, done = sum(len(records) for records in recovered.values()), 0
        for function, records in recovered.items():
            for handed in _deliver(function, records, options, deliver, report.functions[function]):
                done += handed
                if progress is not None:
                    progress(done, total)
        if not options.dry_run and report.ok and next_offsets:
            consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()})
            report.committed = True
    return report


def _read_failures(
    consumer: KafkaConsumer, options: RedriveOptions, report: RedriveReport
) -> tuple[list[FailedInvocation], dict[TopicPartition, int]]:
    """The failure messages after the group's offsets (unreadable ones noted in ``report``); the offsets to commit."""
    partitions = consumer.partitions_for_topic(options.failure_topic)
    if not partitions:
        raise FailureTopicUnavailable(
            f"topic {options.failure_topic!r} not found at {options.bootstrap_servers}; check --failure-topic "
            "(the CDK app's Topics.trigger_failures) and that this machine reaches the cluster"
        )
    assigned = [TopicPartition(options.failure_topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    for tp in assigned:
        committed = None if options.from_beginning else consumer.committed(tp)
        if committed is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    invocations: list[FailedInvocation] = []
    next_offsets: dict[TopicPartition, int] = {}
    for message in _until_quiet(consumer, options.idle_ms):
        next_offsets[TopicPartition(message.topic, message.partition)] = message.offset + 1
        try:
            invocations.append(parse_failure(message.value, f"{message.topic}-{message.partition}@{message.offset}"))
        except UnreadableFailureRecord as exc:
            report.unreadable.append(str(exc))
    return invocations, next_offsets


def _until_quiet(consumer: KafkaConsumer, idle_ms: int) -> Iterator[ConsumerRecord]:
    """Poll until nothing arrived for ``idle_ms`` (end offsets are not trusted: some brokers misreport them)."""
    quiet_since = time.monotonic()
    while (time.monotonic() - quiet_since) * 1000 < idle_ms:
        polled = consumer.poll(timeout_ms=200)
        for batch in polled.values():
            yield from batch
        if polled:
            quiet_since = time.monotonic()


def _recover(
    invocations: Iterable[FailedInvocation], options: RedriveOptions, report: RedriveReport
) -> dict[str, list[SourceRecord]]:
    """Each function's distinct failed records, carried ones as they are, the others fetched by coordinates."""
    found: dict[str, dict[tuple[str, int, int], SourceRecord]] = defaultdict(dict)
    wanted: dict[str, set[OffsetRange]] = defaultdict(set)
    for invocation in invocations:
        if options.functions and invocation.function not in options.functions:
            report.skipped += 1
            continue
        function_report = report.functions.setdefault(invocation.function, FunctionReport(invocation.function))
        function_report.messages += 1
        for record in invocation.records:
            found[invocation.function][(record.topic, record.partition, record.offset)] = record
        wanted[invocation.function].update(invocation.ranges)
    for function, ranges in wanted.items():
        fetched = _fetch(options, ranges, report.functions[function])
        for record in fetched:
            found[function].setdefault((record.topic, record.partition, record.offset), record)
    for function, records in found.items():
        report.functions[function].records = len(records)
    return {function: list(records.values()) for function, records in found.items()}


def _fetch(options: RedriveOptions, ranges: Iterable[OffsetRange], report: FunctionReport) -> list[SourceRecord]:
    """The records of ``ranges`` read from their source partitions; what retention removed goes to ``missing``."""
    records: list[SourceRecord] = []
    with closing(KafkaConsumer(**options.consumer_config(None))) as consumer:
        for span in sorted(ranges, key=lambda r: (r.topic, r.partition, r.first)):
            tp = TopicPartition(span.topic, span.partition)
            consumer.assign([tp])
            consumer.seek(tp, span.first)
            got = [r for r in _until_quiet_or(consumer, options.idle_ms, span.last) if r.offset <= span.last]
            offsets = {r.offset for r in got}
            gone = [o for o in range(span.first, span.last + 1) if o not in offsets]
            if gone:
                report.missing.append(f"{span.topic}-{span.partition}@{_spans(gone)}")
            records.extend(source_record(r) for r in got)
    report.fetched += len(records)
    return records


def _until_quiet_or(consumer: KafkaConsumer, idle_ms: int, last: int) -> Iterator[ConsumerRecord]:
    for record in _until_quiet(consumer, idle_ms):
        yield record
        if record.offset >= last:
            return


def _deliver(
    function: str,
    records: list[SourceRecord],
    options: RedriveOptions,
    deliver: Deliver,
    report: FunctionReport,
) -> Iterator[int]:
    """Hand ``records`` over in trigger-sized events, yielding each one's size; failed again: ``still_failing``."""
    ordered = _arrival_order(records)
    while ordered and not options.dry_run:
        batch, ordered = ordered[: options.batch_size], ordered[options.batch_size :]
        event = build_event(batch, bootstrap_servers=options.bootstrap_servers)
        try:
            retry_from = failed_from(deliver(function, event) or {})
        except Exception as exc:  # the function failed outright: the whole batch is still failing
            report.still_failing.extend(f"{r.position} ({exc})" for r in batch)
        else:
            again = [r for r in batch if r.offset >= retry_from.get((r.topic, r.partition), r.offset + 1)]
            report.still_failing.extend(r.position for r in again)
            report.redriven += len(batch) - len(again)
        yield len(batch)


def _arrival_order(records: list[SourceRecord]) -> list[SourceRecord]:
    """Each partition in offset order, partitions merged by record time: the order the trigger delivers in."""
    partitions: dict[tuple[str, int], list[SourceRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        partitions[(record.topic, record.partition)].append(record)
    return list(heapq.merge(*partitions.values(), key=lambda r: r.timestamp))


def _spans(offsets: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3..5,9"``."""
    runs: list[list[int]] = []
    for offset in offsets:
        if runs and offset == runs[-1][1] + 1:
            runs[-1][1] = offset
        else:
            runs.append([offset, offset])
    return ",".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)
