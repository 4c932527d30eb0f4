"""Replay a JSON Lines file of trades through the real handler and a real Redis.

Each line is one CryptoTrade object in camelCase, fed in file order as MSK-shaped batches
(the line number is the record's offset), so back-tests exercise exactly the production
path; window logic uses the trades' event timestamps, never the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler
from riskengine_tools.local.redis_server import EmbeddedRedis

REPLAY_TOPIC = "crypto-trades"
OUTPUT_FILES = ("analyzed.jsonl", "alerts.jsonl", "rejected.jsonl")


@dataclass(frozen=True, slots=True)
class ReplayReport:
    lines: int
    analyzed: int
    alerts: int
    rejected: int
    out_dir: Path
    source: Path

    @property
    def empty(self) -> bool:
        """The file held no trades (it was empty or only blank lines)."""
        return self.lines == 0


class ReplayFailed(RuntimeError):
    """The handler reported a batch as failed (e.g. Redis went away); the outputs are incomplete."""


def replay(
    path: Path,
    out_dir: Path,
    *,
    redis_url: str | None = None,
    batch_size: int = 1_000,
    on_batch: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Feed ``path`` through the score_trades handler; write alerts/analyzed/rejected.jsonl to ``out_dir``."""
    _create_outputs(out_dir)
    with ExitStack() as stack:
        if redis_url is None:
            redis_url = stack.enter_context(EmbeddedRedis()).url
        env = {"REDIS_URL": redis_url, "RISKENGINE_SINK": f"jsonl:{out_dir}"}
        stack.enter_context(handler_environment(env))
        invoke = load_handler(function_handler("score_trades"))
        lines = 0
        for batch in _batches(path, batch_size):
            response = invoke(build_event(batch, cluster_arn=LOCAL_CLUSTER_ARN)) or {}
            if response.get("batchItemFailures"):
                raise ReplayFailed(f"the handler failed a batch at offsets {response['batchItemFailures']}")
            lines += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
    return ReplayReport(
        lines=lines,
        analyzed=_count(out_dir / "analyzed.jsonl"),
        alerts=_count(out_dir / "alerts.jsonl"),
        rejected=_count(out_dir / "rejected.jsonl"),
        out_dir=out_dir,
        source=path,
    )


def _create_outputs(out_dir: Path) -> None:
    """Start all three outputs empty, before the first batch.

    The handler's sink creates them only when it is first invoked, which a file without trades never
    does; and a replay into a directory of an earlier one must not leave that run's results behind.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_FILES:
        (out_dir / name).write_bytes(b"")


def _batches(path: Path, size: int) -> Iterator[list[SourceRecord]]:
    batch: list[SourceRecord] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            line = line.strip()
            if not line:
                continue
            batch.append(SourceRecord(REPLAY_TOPIC, 0, number, 0, None, line))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def _count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
