"""Alerts matched to labelled episodes: precision and recall per pattern (docs/detection.md).

Pure, no I/O. An alert matches an episode when the patterns agree, the subjects agree (the user of a
user-scoped episode; the symbol and exchange of a market-scoped one, whose ``userId`` is null) and the
alert's evidence shares at least one event id with the episode's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Episode:
    """One injected episode, as labels.jsonl describes it."""

    pattern: str
    user_id: str | None  # None: a market-scoped episode, whose subject is symbol and exchange
    symbol: str | None
    exchange: str | None
    start: int
    end: int
    event_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Alert:
    """What matching needs of a RiskAlert."""

    pattern: str
    user_id: str
    symbol: str
    exchange: str
    evidence: tuple[str, ...]

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Alert:
        """From a RiskAlert record (camelCase, as in alerts.jsonl)."""
        return cls(
            pattern=record["patternType"],
            user_id=record["userId"],
            symbol=record["symbol"],
            exchange=record["exchange"],
            evidence=tuple(record["triggeredEvents"]),
        )


def matches(alert: Alert, episode: Episode) -> bool:
    if alert.pattern != episode.pattern:
        return False
    if episode.user_id is None:
        same_subject = alert.symbol == episode.symbol and alert.exchange == episode.exchange
    else:
        same_subject = alert.user_id == episode.user_id
    return same_subject and not episode.event_ids.isdisjoint(alert.evidence)


@dataclass(frozen=True, slots=True)
class PatternScore:
    """One pattern's counts; a ratio without a denominator is None (shown as n/a)."""

    pattern: str
    alerts: int
    true_positives: int  # alerts matching at least one episode
    episodes: int
    matched_episodes: int  # episodes at least one alert matches

    @property
    def false_positives(self) -> int:
        return self.alerts - self.true_positives

    @property
    def missed_episodes(self) -> int:
        return self.episodes - self.matched_episodes

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.matched_episodes / self.episodes if self.episodes else None

    @property
    def f1(self) -> float | None:
        precision, recall = self.precision, self.recall
        if precision is None or recall is None:
            return None
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score(alerts: Iterable[Alert], episodes: Iterable[Episode]) -> dict[str, PatternScore]:
    """Every pattern that has an alert or an episode, in name order, with its counts."""
    episodes = list(episodes)
    sharing = _episodes_by_event(episodes)
    alert_counts: Counter[str] = Counter()
    true_positives: Counter[str] = Counter()
    matched: set[int] = set()
    for alert in alerts:
        alert_counts[alert.pattern] += 1
        hits = {i for event in alert.evidence for i in sharing.get(event, ()) if matches(alert, episodes[i])}
        if hits:
            true_positives[alert.pattern] += 1
            matched |= hits
    episode_counts = Counter(episode.pattern for episode in episodes)
    matched_counts = Counter(episodes[i].pattern for i in matched)
    return {
        pattern: PatternScore(
            pattern, alert_counts[pattern], true_positives[pattern], episode_counts[pattern], matched_counts[pattern]
        )
        for pattern in sorted(alert_counts.keys() | episode_counts.keys())
    }


def _episodes_by_event(episodes: list[Episode]) -> dict[str, list[int]]:
    """Event id -> indices of the episodes holding it: an alert is compared only with episodes it could match."""
    sharing: defaultdict[str, list[int]] = defaultdict(list)
    for index, episode in enumerate(episodes):
        for event in episode.event_ids:
            sharing[event].append(index)
    return sharing
