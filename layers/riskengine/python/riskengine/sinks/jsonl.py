"""Results to JSON Lines files: the output of ``riskengine replay`` (a stable interface)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from riskengine.sinks.base import DeadLetter


class JsonlSink:
    """Writes ``analyzed.jsonl``, ``alerts.jsonl`` and ``rejected.jsonl`` into ``directory``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._analyzed = (directory / "analyzed.jsonl").open("w", encoding="utf-8")
        self._alerts = (directory / "alerts.jsonl").open("w", encoding="utf-8")
        self._rejected = (directory / "rejected.jsonl").open("w", encoding="utf-8")

    def write(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> None:
        _write(self._analyzed, analyzed)
        _write(self._alerts, alerts)
        _write(self._rejected, [_rejected(letter) for letter in dead_letters])
        for handle in (self._analyzed, self._alerts, self._rejected):
            handle.flush()

    def close(self) -> None:
        for handle in (self._analyzed, self._alerts, self._rejected):
            handle.close()


def _rejected(letter: DeadLetter) -> dict[str, Any]:
    line = (letter.record.value or b"").decode("utf-8", errors="replace")
    return {"line": line, "reason": letter.reason, "detail": letter.detail, "lineNumber": letter.record.offset + 1}


def _write(handle: TextIO, records: Sequence[dict[str, Any]]) -> None:
    for record in records:
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")
