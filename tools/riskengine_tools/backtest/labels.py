"""labels.jsonl (one injected episode per line) and alerts.jsonl, read into what matching compares.

The labels format is shared with ``riskengine simulate`` and documented in docs/detection.md; a line
that breaks it stops the back-test with its line number rather than being skipped, because a
skipped episode would silently raise precision or recall.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from riskengine_tools.backtest.matching import Alert, Episode

LABEL_KEYS = ("patternType", "userId", "symbol", "exchange", "start", "end", "eventIds")


class LabelsError(ValueError):
    """A line of the labels file does not hold one episode in the documented format."""

    def __init__(self, path: Path, line_number: int, problem: str) -> None:
        self.line_number = line_number
        super().__init__(
            f"{path} line {line_number}: {problem}. Each line is one JSON object with exactly the keys "
            f"{', '.join(LABEL_KEYS)} (docs/detection.md, 'Labels'): fix the line and run again"
        )


def read_labels(path: Path) -> list[Episode]:
    """Every episode of ``path`` in file order (blank lines skipped); LabelsError at the first bad line."""
    episodes = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    episodes.append(episode(_parse(line)))
                except ValueError as exc:
                    raise LabelsError(path, number, str(exc)) from exc
    return episodes


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:  # its own message counts lines within the line: only the column helps
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc


def episode(label: Any) -> Episode:
    """One label object as an Episode; ValueError saying what is wrong with it."""
    if not isinstance(label, dict):
        raise ValueError(f"not a JSON object but {type(label).__name__}")
    _check_keys(label)
    pattern, user_id, symbol, exchange = (label[key] for key in ("patternType", "userId", "symbol", "exchange"))
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"patternType must be a non-empty string, got {pattern!r}")
    for key in ("userId", "symbol", "exchange"):
        if label[key] is not None and not (isinstance(label[key], str) and label[key]):
            raise ValueError(f"{key} must be a non-empty string or null, got {label[key]!r}")
    if user_id is None and (symbol is None or exchange is None):
        raise ValueError("a market-scoped episode (userId null) needs symbol and exchange")
    start, end = label["start"], label["end"]
    if not all(isinstance(ms, int) and not isinstance(ms, bool) for ms in (start, end)) or start > end:
        raise ValueError(f"start and end must be epoch milliseconds with start <= end, got {start!r} and {end!r}")
    event_ids = label["eventIds"]
    if not isinstance(event_ids, list) or not event_ids or not all(isinstance(i, str) and i for i in event_ids):
        raise ValueError(f"eventIds must be a non-empty list of non-empty strings, got {event_ids!r}")
    return Episode(pattern, user_id, symbol, exchange, start, end, frozenset(event_ids))


def _check_keys(label: dict[str, Any]) -> None:
    missing = [key for key in LABEL_KEYS if key not in label]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    unknown = sorted(set(label) - set(LABEL_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")


def read_alerts(path: Path) -> list[Alert]:
    """The alerts of a replay's alerts.jsonl."""
    with path.open("rb") as handle:
        return [Alert.from_record(json.loads(line)) for line in handle]
