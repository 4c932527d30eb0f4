"""The detection and scoring harness: windows in, analysed trades and new alerts out.

Rules only answer "is there a match here, and how strong". The harness decides where to
look (only matches that contain a trade of this batch), applies the overlap strategy (a
sequence rule reports the first match of a run of consecutive matches: one alert per
episode, not one per trade), turns strengths into severities, keeps alerts already written
by an earlier delivery from being raised again, and turns a failing rule into a recorded
failure instead of a failed batch.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskengine import ENGINE_VERSION
from riskengine.alerts import alert_id, build_alert
from riskengine.detectors.base import Match, Rule, SequenceRule, TradeRule
from riskengine.model import Trade
from riskengine.scoring import RiskScorer, ScoreInputs, ScoringConfig, severity_for_strength
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope, WindowSpec
from riskengine.windows.store import LATE, AlertMark, BatchWindows, WindowState, WindowStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    subject: str
    error: str


@dataclass(slots=True)
class Evaluation:
    analyzed: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    marks: list[AlertMark] = field(default_factory=list)
    suppressed_alerts: int = 0
    late_trades: int = 0
    rule_failures: list[RuleFailure] = field(default_factory=list)
    raised: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (window, rule, first trade) -> id


@dataclass(slots=True)
class _Hit:
    rule: Rule
    match: Match
    window: WindowState


def window_specs(rules: Sequence[Rule], scoring: ScoringConfig, lateness_ms: int) -> dict[Scope, WindowSpec]:
    """The windows the enabled rules and the scorer need, one per scope, merged."""
    specs = {
        Scope.USER: WindowSpec(Scope.USER, scoring.baseline_trades + 1, scoring.baseline_horizon_ms, lateness_ms),
        Scope.SYMBOL_EXCHANGE: WindowSpec(
            Scope.SYMBOL_EXCHANGE,
            1,
            scoring.volume_window_ms + scoring.volume_bucket_ms,
            lateness_ms,
            volume_bucket_ms=scoring.volume_bucket_ms,
        ),
    }
    for rule in rules:
        if isinstance(rule, SequenceRule):
            # One extra event before a match, to tell whether the match starts an episode.
            need = WindowSpec(rule.scope, rule.length + 1, rule.window_ms, lateness_ms)
            specs[rule.scope] = specs[rule.scope].merged(need) if rule.scope in specs else need
    return specs


class RiskEngine:
    def __init__(
        self,
        store: WindowStore,
        rules: Sequence[Rule],
        scoring: ScoringConfig | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.store = store
        self.trade_rules = [r for r in rules if isinstance(r, TradeRule)]
        self.sequence_rules = [r for r in rules if isinstance(r, SequenceRule)]
        self.scorer = RiskScorer(scoring)
        self._clock_ms = clock_ms

    def evaluate(self, trades: Sequence[Trade]) -> Evaluation:
        """Place ``trades`` in their windows, detect, score. Nothing is marked as sent yet."""
        evaluation = Evaluation()
        if not trades:
            return evaluation
        # A batch is one arrival, processed in event-time order: trades of one market that reach
        # it through different partitions never make each other late, and the trade of the batch
        # that completes a match is its last evidence trade in that order.
        ordered = sorted(trades, key=_event_time)
        position = {trade.trade_id: index for index, trade in enumerate(ordered)}
        hits: dict[str, dict[tuple[str, str, str], _Hit]] = defaultdict(dict)
        now = self._clock_ms()
        for part, windows in self.store.apply(ordered):
            self._detect(part, windows, position, hits, evaluation)
            for trade, own_windows in zip(part, windows.by_trade, strict=True):
                found = hits.pop(trade.trade_id, {})
                evaluation.analyzed.append(self._analyze(trade, own_windows, list(found.values()), now, evaluation))
        return evaluation

    def commit(self, evaluation: Evaluation) -> None:
        """Remember the new alerts as written; call only after the sink has flushed them."""
        self.store.mark_alerts(evaluation.marks)

    def _detect(
        self,
        part: Sequence[Trade],
        windows: BatchWindows,
        position: Mapping[str, int],
        hits: dict[str, dict[tuple[str, str, str], _Hit]],
        evaluation: Evaluation,
    ) -> None:
        """Add this part's matches to ``hits``, by completing trade and episode.

        A match found through this part may be completed by a trade of a later part (its
        evidence was already in Redis from an earlier delivery): it waits there, and a match
        found again through a later part is the same episode, kept once.
        """
        for rule in self.trade_rules:
            for trade, own_windows in zip(part, windows.by_trade, strict=True):
                match = self._guarded(rule, trade.trade_id, evaluation, rule.check, trade)
                if match is not None:
                    user = own_windows[Scope.USER]
                    hits[trade.trade_id][(rule.rule_id, user.key, trade.trade_id)] = _Hit(rule, match, user)
        by_scope = {scope: windows.of_scope(scope) for scope in {rule.scope for rule in self.sequence_rules}}
        for rule in self.sequence_rules:
            for window in by_scope[rule.scope]:
                for match in self._episodes(rule, window, evaluation):
                    trigger = max((t for t in match.evidence if t in position), key=position.__getitem__)
                    hits[trigger].setdefault((rule.rule_id, window.key, match.evidence[0]), _Hit(rule, match, window))

    def _episodes(self, rule: SequenceRule, window: WindowState, evaluation: Evaluation) -> Iterator[Match]:
        events = window.events
        positions = list(window.batch_positions.values())
        if len(positions) == 1 and positions[0] == len(events) - 1:
            ends: Iterable[int] = positions  # the usual case: one new event, the newest of its window
        else:
            last = len(events)
            ends = sorted({end for p in positions for end in range(p, min(p + rule.length, last))})
        checked: dict[int, Match | None] = {}
        for end in ends:
            match = self._match_at(rule, window, end, checked, evaluation)
            if match is not None and self._match_at(rule, window, end - 1, checked, evaluation) is None:
                yield match

    def _match_at(
        self,
        rule: SequenceRule,
        window: WindowState,
        end: int,
        checked: dict[int, Match | None],
        evaluation: Evaluation,
    ) -> Match | None:
        """The match ending at ``end``, each position checked at most once per window."""
        if end < 0:
            return None
        if end not in checked:
            checked[end] = self._guarded(rule, window.key, evaluation, rule.check, window.events, end)
        return checked[end]

    def _guarded(
        self, rule: Rule, subject: str, evaluation: Evaluation, check: Callable[..., Match | None], *args: Any
    ) -> Match | None:
        try:
            return check(*args)
        except Exception as exc:  # a broken rule must not fail the batch: record it and go on
            logger.exception("rule %s failed on %s", rule.rule_id, subject)
            evaluation.rule_failures.append(RuleFailure(rule.rule_id, subject, f"{type(exc).__name__}: {exc}"))
            return None

    def _analyze(
        self,
        trade: Trade,
        own_windows: Mapping[Scope, WindowState],
        hits: Sequence[_Hit],
        now: int,
        evaluation: Evaluation,
    ) -> dict[str, Any]:
        strengths: dict[str, float] = {}
        alert_ids: list[str] = []
        for hit in hits:
            strengths[hit.rule.pattern] = max(strengths.get(hit.rule.pattern, 0.0), hit.match.strength)
            alert_ids.append(self._raise(trade, hit, now, evaluation))
        user = own_windows[Scope.USER]
        market = own_windows.get(Scope.SYMBOL_EXCHANGE)
        late = any(w.batch_trade_ids.get(trade.trade_id) == LATE for w in (user, market) if w is not None)
        evaluation.late_trades += late
        scored = self.scorer.score(
            ScoreInputs(
                trade=trade,
                pattern_strengths=strengths,
                previous_user_events=_events_before(user, trade),
                volume_buckets=market.volume_buckets if market is not None else {},
                late=late,
            )
        )
        return {
            "originalTrade": trade.record,
            "triggeredPatterns": sorted(strengths),
            "alertIds": alert_ids,
            **scored,
            "processedAt": now,
            "engineVersion": ENGINE_VERSION,
        }

    def _raise(self, trade: Trade, hit: _Hit, now: int, evaluation: Evaluation) -> str:
        """The id of the alert for ``hit``: a new alert, or the one already raised for its episode.

        An episode is known by its rule and its first evidence trade, so a redelivery (same
        evidence) and a late trade that reshapes an episode already alerted (same first trade,
        different evidence) both point at the existing alert instead of raising another.
        """
        window = hit.window
        episode = (window.key, hit.rule.rule_id, hit.match.evidence[0])
        if episode in evaluation.raised:  # found again through another part of this batch
            return evaluation.raised[episode]
        earlier = window.episodes.get(episode[1:])
        if earlier is not None:  # written by an earlier delivery
            evaluation.suppressed_alerts += 1
            return earlier
        identifier = alert_id(hit.rule.pattern, window.key, hit.match.evidence)
        evaluation.raised[episode] = identifier
        severity = severity_for_strength(hit.match.strength)
        evaluation.alerts.append(build_alert(hit.rule, hit.match, severity, trade, window.key, now))
        evaluation.marks.append(
            AlertMark(
                window.key, identifier, hit.rule.rule_id, hit.match.evidence[0], hit.match.timestamp, window.spec.ttl_ms
            )
        )
        return identifier


def _event_time(trade: Trade) -> int:
    return trade.timestamp


def _events_before(window: WindowState, trade: Trade) -> Sequence[WindowEvent]:
    """The window's events that precede ``trade`` in event-time order (the window's own order)."""
    position = window.batch_positions.get(trade.trade_id)
    if position is None:  # a late trade is not in the window: find where it would have been
        position = bisect_left(window.events, (trade.timestamp, trade.trade_id), key=_event_order)
    return window.events[:position]


def _event_order(event: WindowEvent) -> tuple[int, str]:
    return event.timestamp, event.trade_id
