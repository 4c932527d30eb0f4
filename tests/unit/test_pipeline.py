"""BatchProcessor failure modes that need no server: the engine and codec are fakes here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskengine.codec import RegistryUnavailable
from riskengine.engine import Evaluation
from riskengine.model import SourceRecord, Trade
from riskengine.pipeline import BatchProcessor
from riskengine.sinks import MemorySink


class UnreachableRegistryCodec:
    def decode(self, subject: str, value: bytes) -> dict[str, Any]:
        raise RegistryUnavailable("GET /schemas/ids/7 timed out after 5 s")


class RecordingEngine:
    def __init__(self) -> None:
        self.evaluated: list[Sequence[Trade]] = []

    def evaluate(self, trades: Sequence[Trade]) -> Evaluation:
        self.evaluated.append(trades)
        return Evaluation()

    def commit(self, evaluation: Evaluation) -> None:
        raise AssertionError("nothing to commit for a failed batch")


def records() -> list[SourceRecord]:
    return [SourceRecord("crypto-trades", p, offset, 0, None, b"\x00\x00\x00\x00\x07body") for p, offset in
            [(0, 15), (0, 16), (1, 4)]]  # fmt: skip


def test_an_unreachable_schema_registry_fails_the_batch_instead_of_dead_lettering() -> None:
    sink = MemorySink()
    engine = RecordingEngine()
    processor = BatchProcessor(engine=engine, codec=UnreachableRegistryCodec(), sink=sink)  # type: ignore[arg-type]
    outcome = processor.process(records())
    assert sink.dead_letters == []  # good data is never dead-lettered for an outage
    assert engine.evaluated == []
    assert outcome.failure is not None and "timed out" in outcome.failure
    assert outcome.response() == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "crypto-trades-0", "offset": 15}},
            {"itemIdentifier": {"partition": "crypto-trades-1", "offset": 4}},
        ]
    }
