"""One alert per episode: which matches an arriving trade creates, and which alert they belong to.

A sequence rule matches at positions of a window; a run of consecutive matching positions is one
**episode**, reported by one alert. When a trade arrives, every match that includes it is new:
those ending at its position up to ``length - 1`` positions later. Each run of new matches joins
the episode of a neighbouring or earlier match if one is known (alert marks: every match ever
found is marked with its episode's alert id, keyed by the trade it ends at), and otherwise starts
a new episode whose alert carries the evidence of the run's first match.

The arriving trade carries the pattern (with the strongest of its new matches) and the episode's
alert id, so every trade that extends an episode shows it, not only the one that raised the alert.
Trade rules are episodes of one trade, marked in the user's window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from riskengine.alerts import build_alert
from riskengine.arrivals import ArrivalView
from riskengine.detectors.base import Match, Rule, SequenceRule, TradeRule
from riskengine.model import OrderEvent, Trade
from riskengine.scoring import severity_for_strength
from riskengine.windows.events import WindowEvent
from riskengine.windows.store import AlertMark, WindowState

# Runs a rule's check on (events, end) of the window named last, turning an exception into a
# recorded failure (see RiskEngine._check).
Check = Callable[[SequenceRule, Sequence[WindowEvent], int, str], Match | None]


class Finding(NamedTuple):
    """What one arrival found for one rule: its strength at this trade and the episode's alert."""

    rule: Rule
    strength: float
    alert_id: str
    alert: dict[str, Any] | None  # the new alert, when this arrival started the episode


@dataclass(slots=True)
class Episodes:
    """The episode bookkeeping of one batch: marks read from Redis plus the marks the batch adds."""

    detected_at: int
    check: Check
    marks: list[AlertMark] = field(default_factory=list)
    _added: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def of_trade(self, rule: TradeRule, match: Match, user: WindowState, trade: Trade) -> Finding:
        """A trade rule's episode is the trade, marked in the user's window."""
        return self._named(rule, user, match, trade.event_id, trade)

    def of_sequence(
        self, rule: SequenceRule, view: ArrivalView, position: int, trade: Trade | OrderEvent
    ) -> list[Finding]:
        """The episodes of the matches that the event's arrival at ``position`` created."""
        events, key = view.events, view.state.key
        newest = position == len(events) - 1
        found = self.check(rule, events, position, key) if newest else None
        if newest and found is None:
            return []  # the usual case: the window's newest event, completing nothing
        matches = _Matches(rule, events, self.check, key, {position: found} if newest else {})
        last = rule.last_affected(events, position)
        new = [end for end in range(position, last + 1) if matches.at(end) is not None]
        findings, unnamed = [], []
        for end in new:
            match = matches.known_at(end)
            if match.episode:
                findings.append(self._named(rule, view.state, match, match.episode, trade))
            else:
                unnamed.append(end)
        return findings + [self._run(rule, view, matches, run, trade) for run in _runs(unnamed)]

    def _named(self, rule: Rule, state: WindowState, match: Match, name: str, trade: Trade | OrderEvent) -> Finding:
        """A match whose episode has a name (the trade of a trade rule, the order a rule names): marked
        by it, so every match of the episode joins its one alert, whichever event completed it first."""
        known = self._known(state, rule.rule_id, name)
        if known is not None:
            return Finding(rule, match.strength, known, None)
        alert = self._alert(rule, match, state.key, trade)
        self._mark(state, rule.rule_id, name, match.timestamp, alert["alertId"])
        return Finding(rule, match.strength, alert["alertId"], alert)

    def _run(
        self, rule: SequenceRule, view: ArrivalView, matches: _Matches, run: list[int], trade: Trade | OrderEvent
    ) -> Finding:
        state, events = view.state, view.events
        first, known = run[0], []
        for end in range(run[0] - 1, -1, -1):  # back over earlier matches, to the nearest known episode
            if matches.at(end) is None:
                break
            first = end
            if (alert := self._known(state, rule.rule_id, events[end].event_id)) is not None:
                known.append((end, alert))
                break
        known += [(end, a) for end in run if (a := self._known(state, rule.rule_id, events[end].event_id))]
        for end in range(run[-1] + 1, len(events)):  # on over later matches (a run extended backwards)
            if matches.at(end) is None:
                break
            if (alert := self._known(state, rule.rule_id, events[end].event_id)) is not None:
                known.append((end, alert))
                break
        strength = max(matches.strength(end) for end in run)
        alert: dict[str, Any] | None = None
        if known:
            episode = min(known)[1]  # the earliest known episode of the run
        else:
            alert = self._alert(rule, matches.known_at(first), state.key, trade)
            episode = alert["alertId"]
        for end in run:
            if self._known(state, rule.rule_id, events[end].event_id) is None:
                self._mark(state, rule.rule_id, events[end].event_id, events[end].timestamp, episode)
        return Finding(rule, strength, episode, alert)

    def _known(self, state: WindowState, rule_id: str, mark: str) -> str | None:
        """The alert of the episode marked by ``mark``: the event a match ends at, or an episode's name."""
        return self._added.get((state.key, rule_id, mark)) or state.marks.get((rule_id, mark))

    def _mark(self, state: WindowState, rule_id: str, end_event_id: str, timestamp: int, alert: str) -> None:
        self._added[(state.key, rule_id, end_event_id)] = alert
        self.marks.append(AlertMark(state.key, rule_id, end_event_id, alert, timestamp, state.spec.ttl_ms))

    def _alert(self, rule: Rule, match: Match, window_key: str, trade: Trade | OrderEvent) -> dict[str, Any]:
        return build_alert(rule, match, severity_for_strength(match.strength), trade, window_key, self.detected_at)


class _Matches:
    """A rule's matches in one window state, each position checked at most once."""

    __slots__ = ("_check", "_checked", "_events", "_rule", "_subject")

    def __init__(
        self,
        rule: SequenceRule,
        events: Sequence[WindowEvent],
        check: Check,
        subject: str,
        checked: dict[int, Match | None],
    ) -> None:
        self._rule, self._events, self._check, self._subject = rule, events, check, subject
        self._checked = checked

    def at(self, end: int) -> Match | None:
        if end < 0:
            return None
        if end not in self._checked:
            self._checked[end] = self._check(self._rule, self._events, end, self._subject)
        return self._checked[end]

    def strength(self, end: int) -> float:
        match = self.at(end)
        return match.strength if match is not None else 0.0

    def known_at(self, end: int) -> Match:
        """The match at a position already found to match."""
        match = self._checked[end]
        if match is None:
            raise ValueError(f"no match ends at {end}")
        return match


def _runs(ends: list[int]) -> list[list[int]]:
    """Consecutive positions grouped: [3, 4, 6] -> [[3, 4], [6]]."""
    runs: list[list[int]] = []
    for end in ends:
        if runs and runs[-1][-1] == end - 1:
            runs[-1].append(end)
        else:
            runs.append([end])
    return runs
