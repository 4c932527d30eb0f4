"""Results to JSON Lines files: the output of ``riskengine replay`` (a stable interface)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskengine.sinks.base import DeadLetter


class JsonlSink:
    """Appends to ``analyzed.jsonl``, ``alerts.jsonl`` and ``rejected.jsonl`` in ``directory``.

    Appending lets the sinks of two functions (score_trades and score_orders, each building its own from
    ``RISKENGINE_SINK=jsonl:DIR``) share a directory: every ``send`` is written and flushed before the next
    batch runs, so the files hold the batches in the order they ran. Whoever starts a run empties the files
    first (``riskengine replay`` does).
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._analyzed = (directory / "analyzed.jsonl").open("a", encoding="utf-8")
        self._alerts = (directory / "alerts.jsonl").open("a", encoding="utf-8")
        self._rejected = (directory / "rejected.jsonl").open("a", encoding="utf-8")

    def prepare(
        self, analyzed: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], dead_letters: Sequence[DeadLetter]
    ) -> list[str]:
        """The three files' new lines, in the order of (analyzed, alerts, rejected)."""
        return [_lines(analyzed), _lines(alerts), rejected_lines(dead_letters)]

    def send(self, prepared: list[str]) -> None:
        for handle, lines in zip((self._analyzed, self._alerts, self._rejected), prepared, strict=True):
            handle.write(lines)
            handle.flush()

    def close(self) -> None:
        for handle in (self._analyzed, self._alerts, self._rejected):
            handle.close()


def rejected_lines(letters: Sequence[DeadLetter]) -> str:
    """``rejected.jsonl`` lines of ``letters``: also used by replay for lines no handler is given."""
    return _lines([_rejected(letter) for letter in letters])


def _rejected(letter: DeadLetter) -> dict[str, Any]:
    line = (letter.record.value or b"").decode("utf-8", errors="replace")
    return {"line": line, "reason": letter.reason, "detail": letter.detail, "lineNumber": letter.record.offset + 1}


def _lines(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
