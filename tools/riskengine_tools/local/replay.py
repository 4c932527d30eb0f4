"""Replay a JSON Lines file of trades and order events through the real handlers and a real Redis.

Each line is one JSON object in camelCase: a CryptoTrade (no ``kind``, or ``"kind": "trade"``) or an
OrderEvent (``"kind": "order"``). Lines are fed in file order as MSK-shaped batches (the line number
is the record's offset), so back-tests exercise exactly the production path; window logic uses the
events' timestamps, never the wall clock.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine.sinks import DeadLetter, Topics
from riskengine.sinks.jsonl import rejected_lines
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from riskengine_tools.local.redis_server import EmbeddedRedis
from riskengine_tools.local.triggers import scoring

TRADES_TOPIC = Topics().trades
ORDERS_TOPIC = Topics().orders
# A line's ``kind`` says which record it holds, so which topic it would have arrived on.
KIND_TOPICS = {"trade": TRADES_TOPIC, "order": ORDERS_TOPIC}
UNKNOWN_KIND = "unknown_kind"
OUTPUT_FILES = ("analyzed.jsonl", "alerts.jsonl", "rejected.jsonl")

Feeder = Callable[[list[SourceRecord]], None]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    lines: int
    analyzed: int
    alerts: int
    rejected: int
    out_dir: Path
    source: Path
    orders: int = 0  # lines holding an order event ("kind": "order")
    orders_evaluated: bool = False  # True: the order lines were fed to score_orders (backtest --json reports it)

    @property
    def empty(self) -> bool:
        """The file held no records (it was empty or only blank lines)."""
        return self.lines == 0


class ReplayFailed(RuntimeError):
    """The handler reported a batch as failed (e.g. Redis went away); the outputs are incomplete."""


class UnknownKind(ValueError):
    """A line's ``kind`` is neither ``trade`` nor ``order`` (raised only when asked to fail on it)."""

    def __init__(self, source: Path, letter: DeadLetter) -> None:
        self.line_number = letter.record.offset + 1
        super().__init__(f"{source} line {self.line_number}: {letter.detail}")


def replay(
    path: Path,
    out_dir: Path,
    *,
    redis_url: str | None = None,
    batch_size: int = 1_000,
    on_batch: Callable[[int], None] | None = None,
    environment: Mapping[str, str] | None = None,
    fail_on_unknown_kind: bool = False,
) -> ReplayReport:
    """Feed ``path`` through the score_trades and score_orders handlers, in file order; write
    alerts/analyzed/rejected.jsonl to ``out_dir``.

    ``on_batch(n)`` is called as lines are consumed (``n`` non-blank lines each time, ``lines`` in
    all). ``environment`` adds handler variables (for example ``RISK_RULES_JSON``). A line of an
    unknown kind is written to rejected.jsonl, or raises :class:`UnknownKind` with
    ``fail_on_unknown_kind``.
    """
    _create_outputs(out_dir)
    with ExitStack() as stack:
        if redis_url is None:
            redis_url = stack.enter_context(EmbeddedRedis()).url
        env = {**(environment or {}), "REDIS_URL": redis_url, "RISKENGINE_SINK": f"jsonl:{out_dir}"}
        stack.enter_context(handler_environment(env))
        feeders = _feeders()
        stream = _Stream(path, fail_on_unknown_kind)
        _feed(stream, feeders, batch_size, on_batch or (lambda _: None))
    # The handler's sink has closed rejected.jsonl: the lines no handler was given join its own rejections.
    _add_rejections(out_dir / "rejected.jsonl", stream.rejected)
    return ReplayReport(
        lines=stream.lines,
        analyzed=_count(out_dir / "analyzed.jsonl"),
        alerts=_count(out_dir / "alerts.jsonl"),
        rejected=_count(out_dir / "rejected.jsonl"),
        out_dir=out_dir,
        source=path,
        orders=stream.orders,
        orders_evaluated=ORDERS_TOPIC in feeders,
    )


def _feeders() -> dict[str, Feeder]:
    """The handler each topic's records are fed to, as the triggers wire them: trades to score_trades,
    order events to its sibling score_orders (docs/decisions/0001-order-events.md).

    Both handlers write through a JSONL sink into the same directory; the sink appends, so their batches'
    lines land in the files in the order the batches ran, which is file order.
    """
    return {trigger.topic: _handler_feeder(trigger.function) for trigger in scoring(Topics())}


def _handler_feeder(function: str) -> Feeder:
    """Invoke ``functions/<function>/handler.py`` with each batch, as an MSK trigger would."""
    invoke = load_handler(function_handler(function))

    def feed(batch: list[SourceRecord]) -> None:
        response = invoke(build_event(batch, cluster_arn=LOCAL_CLUSTER_ARN)) or {}
        if response.get("batchItemFailures"):
            raise ReplayFailed(f"the handler failed a batch at offsets {response['batchItemFailures']}")

    return feed


def _feed(stream: _Stream, feeders: Mapping[str, Feeder], size: int, on_batch: Callable[[int], None]) -> None:
    reported = 0
    for feed, batch in batches(stream.records(), feeders, size):
        feed(batch)
        on_batch(stream.lines - reported)
        reported = stream.lines
    if stream.lines > reported:  # order lines or rejected lines after the last batch
        on_batch(stream.lines - reported)


def batches(
    records: Iterable[SourceRecord], feeders: Mapping[str, Feeder], size: int
) -> Iterator[tuple[Feeder, list[SourceRecord]]]:
    """Records in batches of up to ``size``, each with its topic's feeder, in file order.

    A batch never spans two feeders, so every record reaches its handler after every line before it
    reached theirs. Records without a feeder are left out without cutting a batch: nothing evaluates
    them, so their place in the order cannot matter.
    """
    batch: list[SourceRecord] = []
    target: Feeder | None = None  # the feeder of ``batch``, which is never empty once it is set
    for record in records:
        feeder = feeders.get(record.topic)
        if feeder is None:
            continue
        if target is not None and (feeder is not target or len(batch) == size):
            yield target, batch
            batch = []
        batch.append(record)
        target = feeder
    if target is not None:
        yield target, batch


@dataclass(slots=True)
class _Stream:
    """The file's non-blank lines as the records a trigger would deliver, and what they held."""

    path: Path
    fail_on_unknown_kind: bool
    lines: int = 0
    orders: int = 0
    rejected: list[DeadLetter] = field(default_factory=list)

    def records(self) -> Iterator[SourceRecord]:
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle):
                line = line.strip()
                if not line:
                    continue
                self.lines += 1
                record = line_record(number, line)
                if isinstance(record, DeadLetter):
                    if self.fail_on_unknown_kind:
                        raise UnknownKind(self.path, record)
                    self.rejected.append(record)
                    continue
                if record.topic == ORDERS_TOPIC:
                    self.orders += 1
                yield record


def line_record(number: int, line: bytes) -> SourceRecord | DeadLetter:
    """Line ``number`` (0-based: its offset) as a record of the topic its ``kind`` names, without ``kind``.

    A line that is not a JSON object, or has no ``kind``, goes to the trades' topic unchanged, so the
    trade handler accepts or rejects it exactly as it always has. A ``kind`` other than ``trade`` or
    ``order`` is a dead letter: no handler would know the record.
    """
    try:
        parsed = json.loads(line)
    except (ValueError, RecursionError):  # the trade handler words the rejection (bad JSON, not JSON)
        parsed = None
    if not isinstance(parsed, dict) or "kind" not in parsed:
        return SourceRecord(TRADES_TOPIC, 0, number, 0, None, line)
    kind = parsed.pop("kind")
    topic = KIND_TOPICS.get(kind) if isinstance(kind, str) else None
    if topic is None:
        detail = f"kind must be 'trade' or 'order' (or absent, for a trade), got {json.dumps(kind)}"
        return DeadLetter(SourceRecord(TRADES_TOPIC, 0, number, 0, None, line), UNKNOWN_KIND, detail)
    return SourceRecord(topic, 0, number, 0, None, json.dumps(parsed).encode())


def _create_outputs(out_dir: Path) -> None:
    """Start all three outputs empty, before the first batch.

    The handler's sink creates them only when it is first invoked, which a file without trades never
    does; and a replay into a directory of an earlier one must not leave that run's results behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_FILES:
        (out_dir / name).write_bytes(b"")


def _add_rejections(path: Path, letters: list[DeadLetter]) -> None:
    """Merge ``letters`` into ``path`` (the handler's rejections) by line number."""
    if not letters:
        return
    ours = rejected_lines(letters).splitlines(keepends=True)
    theirs = path.read_text(encoding="utf-8").splitlines(keepends=True)
    merged = heapq.merge(theirs, ours, key=lambda line: json.loads(line)["lineNumber"])
    path.write_text("".join(merged), encoding="utf-8")


def count_lines(path: Path) -> int:
    """The non-blank lines of ``path``: what a replay of it reads (for progress bars)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
