"""``riskengine simulate``: write a labelled mixed stream and its labels to a directory.

DIR/stream.jsonl holds the stream (one record a line, ``"kind": "trade"`` or ``"kind": "order"``,
in event-time order as a live feed delivers it) and DIR/labels.jsonl one line per injected episode
(docs/simulation.md). The same seed and options give byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from riskengine_tools.simulate.records import event_time
from riskengine_tools.simulate.stream import MixedStream, StreamConfig

STREAM_FILE = "stream.jsonl"
LABELS_FILE = "labels.jsonl"


@dataclass(frozen=True, slots=True)
class SimulateReport:
    out_dir: Path
    config: StreamConfig
    lines: Mapping[str, int]  # stream.jsonl by record: "trade", "fill trade", "order event"
    episodes: Mapping[str, Mapping[str, int]]  # labels.jsonl by patternType, then by the planner that injected them
    activities: Mapping[str, int]  # the order flow's honest activities, by kind

    @property
    def labels(self) -> int:
        return sum(sum(planners.values()) for planners in self.episodes.values())

    @property
    def stream_path(self) -> Path:
        return self.out_dir / STREAM_FILE

    @property
    def labels_path(self) -> Path:
        return self.out_dir / LABELS_FILE


def simulate(out_dir: Path, config: StreamConfig, progress: Callable[[int], None] | None = None) -> SimulateReport:
    """Write DIR/stream.jsonl and DIR/labels.jsonl (replacing them); ``progress(n)`` is called as ``n``
    more seconds of event time are written (``config.minutes * 60`` in all)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stream = MixedStream(config)
    done_s = 0
    with (out_dir / STREAM_FILE).open("w", encoding="utf-8", newline="\n") as handle:
        for record in stream.records():
            handle.write(_line(record))
            elapsed_s = (event_time(record) - config.start_ms) // 1000  # an invalid trade may have lost its time
            if progress is not None and elapsed_s > done_s:
                progress(elapsed_s - done_s)
                done_s = elapsed_s
    labels = stream.labels()
    with (out_dir / LABELS_FILE).open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(_line(label) for label in labels)
    if progress is not None and config.minutes * 60 > done_s:
        progress(config.minutes * 60 - done_s)
    return SimulateReport(
        out_dir=out_dir,
        config=config,
        lines=MappingProxyType(dict(stream.lines)),
        episodes=MappingProxyType(stream.episodes),
        activities=MappingProxyType(dict(stream.activities)),
    )


def _line(record: Mapping[str, object]) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"
