"""The back-test: a file replayed once per rule set, each against a fresh embedded Redis, its alerts
matched to the labelled episodes (docs/detection.md)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskengine.detectors import load_rules
from riskengine.errors import ConfigurationError
from riskengine.settings import Settings
from riskengine_tools.backtest.labels import read_alerts
from riskengine_tools.backtest.matching import Episode, PatternScore, score
from riskengine_tools.local.replay import ReplayReport, replay


@dataclass(frozen=True, slots=True)
class RuleSet:
    name: str
    path: Path | None  # None: the built-in defaults
    settings: Mapping[str, Mapping[str, Any]]

    @property
    def environment(self) -> dict[str, str]:
        """The handler's rule settings: RISK_RULES_JSON overrides RISK_RULES_FILE and whatever the calling
        shell set, so each replay runs exactly this rule set."""
        return {"RISK_RULES_JSON": json.dumps(self.settings)}


DEFAULT_RULES = RuleSet("defaults", None, {})


def load_rule_set(path: Path) -> RuleSet:
    """The rule settings in ``path`` (what RISK_RULES_FILE takes), checked as the engine checks them.

    Raises ConfigurationError before anything is replayed, rather than failing every batch of a replay.
    """
    settings = Settings.from_env({"RISK_RULES_FILE": str(path)}).rules  # its errors name the file
    try:
        load_rules(settings)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    return RuleSet(str(path), path, settings)


@dataclass(frozen=True, slots=True)
class RuleSetResult:
    rule_set: RuleSet
    replay: ReplayReport
    patterns: dict[str, PatternScore]


def backtest_rule_set(
    source: Path,
    episodes: Sequence[Episode],
    rule_set: RuleSet,
    *,
    batch_size: int = 1_000,
    on_batch: Callable[[int], None] | None = None,
) -> RuleSetResult:
    """Replay ``source`` with ``rule_set`` against a fresh embedded Redis and score its alerts.

    Raises UnknownKind for a line of an unknown kind (the result would leave its events out), and
    what ``replay`` raises.
    """
    with tempfile.TemporaryDirectory(prefix="riskengine-backtest-") as out:
        report = replay(
            source,
            Path(out),
            batch_size=batch_size,
            on_batch=on_batch,
            environment=rule_set.environment,
            fail_on_unknown_kind=True,
        )
        alerts = read_alerts(Path(out) / "alerts.jsonl")
    return RuleSetResult(rule_set, report, score(alerts, episodes))


def report_document(source: Path, labels: Path, episodes: int, results: Sequence[RuleSetResult]) -> dict[str, Any]:
    """The back-test as one JSON document (``--json``; its keys are documented in docs/detection.md)."""
    return {
        "file": str(source),
        "labels": str(labels),
        "episodes": episodes,
        "ruleSets": [_rule_set_document(result) for result in results],
    }


def _rule_set_document(result: RuleSetResult) -> dict[str, Any]:
    replayed = result.replay
    return {
        "name": result.rule_set.name,
        "rulesFile": None if result.rule_set.path is None else str(result.rule_set.path),
        "replay": {
            "lines": replayed.lines,
            "analyzed": replayed.analyzed,
            "alerts": replayed.alerts,
            "rejected": replayed.rejected,
            "orderEvents": replayed.orders,
            "orderEventsEvaluated": replayed.orders_evaluated,
        },
        "patterns": {pattern: _pattern_document(counts) for pattern, counts in result.patterns.items()},
    }


def _pattern_document(counts: PatternScore) -> dict[str, Any]:
    return {
        "alerts": counts.alerts,
        "truePositives": counts.true_positives,
        "falsePositives": counts.false_positives,
        "episodes": counts.episodes,
        "matchedEpisodes": counts.matched_episodes,
        "missedEpisodes": counts.missed_episodes,
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
    }
