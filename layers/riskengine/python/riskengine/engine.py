"""The detection and scoring harness: trades in arrival order in, analysed trades and alerts out.

The reference semantics is one trade at a time, in arrival order (``msk.arrival_order``): each
trade is placed in its windows (user, user and symbol, market) unless it is late for one of them,
judged on its windows as they were when it arrived, and scored. A batch reproduces exactly what
batches of one would have produced (``riskengine.arrivals``), so results never depend on where a
stream is cut into batches. Rules only answer "is there a match here, and how strong"; the harness
decides where to look, keeps one alert per episode (``riskengine.episodes``), turns strengths into
severities and turns a failing rule into a recorded failure instead of a failed batch.

Every evaluated trade gets a ledger entry (``riskengine.ledger``). Another copy of a trade already
in the ledger (the trigger retrying a batch, a producer resending) is answered from its entry: the
same analysed trade and the same alerts, whatever the windows have become since. A copy with other
content is a conflicting duplicate, dead-lettered by the pipeline.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from riskengine import ENGINE_VERSION
from riskengine.arrivals import ArrivalView
from riskengine.codec import TRADES_SUBJECT, HeadEncoded
from riskengine.detectors.base import Match, Rule, SequenceRule, TradeRule
from riskengine.episodes import Episodes, Finding
from riskengine.ledger import LedgerEntry, LedgerFormatError, fingerprint, ledger_key
from riskengine.model import Event, OrderEvent, Trade, describe_arrival
from riskengine.scoring import NO_BASELINE, Baseline, RiskScorer, ScoreInputs, ScoringConfig
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope, WindowSpec
from riskengine.windows.store import LATE, AlertMark, WindowState, WindowStore

logger = logging.getLogger(__name__)
DEFAULT_LEDGER_TTL_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    subject: str
    error: str


@dataclass(frozen=True, slots=True)
class Conflict:
    """A copy of a trade or order event whose content differs from the copy that counts: dead-lettered."""

    event: Event
    detail: str


@dataclass(slots=True)
class Evaluation:
    analyzed: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # raised now, or republished for redeliveries
    new_alerts: list[dict[str, Any]] = field(default_factory=list)  # the ones raised now
    republished_alerts: int = 0
    extended_episodes: int = 0  # matches that joined an episode already alerted instead of raising an alert
    late_trades: int = 0
    redelivered: int = 0
    duplicates: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    rule_failures: list[RuleFailure] = field(default_factory=list)
    marks: list[AlertMark] = field(default_factory=list)
    ledger: list[tuple[str, str]] = field(default_factory=list)  # (key, entry) for every evaluated trade


class _Accepted(NamedTuple):
    event: Event
    ledger_key: str
    fingerprint: str
    entry: LedgerEntry | None  # None: evaluated in this batch; otherwise answered from the ledger


def window_specs(
    rules: Sequence[Rule], scoring: ScoringConfig, user_lateness_ms: int, market_lateness_ms: int
) -> dict[Scope, WindowSpec]:
    """The windows the enabled rules and the scorer need, one per scope, merged.

    User windows are fed from one partition, in order, so they tolerate little lateness; market
    windows are fed from every partition and tolerate the skew between partitions. Order-book
    scopes exist only when a rule needs them.
    """
    lateness = dict.fromkeys((Scope.USER, Scope.USER_SYMBOL, Scope.USER_ORDERS), user_lateness_ms)
    # A user's order-book window is fed by two topics (trades and orders), each at its own lag: it
    # tolerates the skew between partitions, as market windows do.
    lateness |= dict.fromkeys((Scope.SYMBOL_EXCHANGE, Scope.ORDER_BOOK), market_lateness_ms)
    specs = {
        Scope.USER: WindowSpec(
            Scope.USER, scoring.baseline_trades + 1, scoring.baseline_horizon_ms, lateness[Scope.USER]
        ),
        Scope.SYMBOL_EXCHANGE: WindowSpec(
            Scope.SYMBOL_EXCHANGE,
            1,
            scoring.volume_window_ms + scoring.volume_bucket_ms,
            lateness[Scope.SYMBOL_EXCHANGE],
            volume_bucket_ms=scoring.volume_bucket_ms,
        ),
    }
    for rule in rules:
        if isinstance(rule, SequenceRule):
            # One extra event before a match, to tell whether an earlier match continues into it.
            closed_horizon = rule.trade_reach_ms if rule.scope.gate else 0
            need = WindowSpec(rule.scope, rule.length + 1, rule.window_ms, lateness[rule.scope], 0, closed_horizon)
            specs[rule.scope] = specs[rule.scope].merged(need) if rule.scope in specs else need
    return specs


class RiskEngine:
    def __init__(
        self,
        store: WindowStore,
        rules: Sequence[Rule],
        scoring: ScoringConfig | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        ledger_ttl_ms: int = DEFAULT_LEDGER_TTL_MS,
    ) -> None:
        self.store = store
        self.trade_rules = [r for r in rules if isinstance(r, TradeRule)]
        self.sequence_rules = [r for r in rules if isinstance(r, SequenceRule)]
        # The rules that give a trade an order-book signal before any match completes.
        self.signal_rules = [r for r in self.sequence_rules if type(r).trade_signal is not SequenceRule.trade_signal]
        self.scorer = RiskScorer(scoring)
        self.ledger_ttl_ms = ledger_ttl_ms
        self._clock_ms = clock_ms

    def evaluate(self, events: Sequence[Event]) -> Evaluation:
        """Judge ``events`` (arrival order): place new ones, detect, score the trades. Nothing is recorded yet."""
        evaluation = Evaluation()
        if not events:
            return evaluation
        now = self._clock_ms()
        accepted = self._classify(events, evaluation)
        fresh = [item for item in accepted if item.entry is None]
        not_arrived = {item.event.event_id for item in fresh}
        earliest = _suffix_minima([item.event.timestamp for item in fresh])
        episodes = Episodes(now, functools.partial(_check, evaluation))
        judged: dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]]]] = {}
        start = 0
        for part, windows in self.store.apply([item.event for item in fresh]):
            views: dict[str, ArrivalView] = {}
            arrival = (views, not_arrived, earliest[start])
            for item, own in zip(fresh[start : start + len(part)], windows.by_trade, strict=True):
                judged[item.event.event_id] = self._judge(item, own, arrival, episodes, evaluation, now)
            not_arrived.difference_update(trade.event_id for trade in part)
            start += len(part)
        for item in accepted:
            record, alerts = judged.pop(item.event.event_id, None) or self._replay(item, evaluation, now)
            if record is not None:
                evaluation.analyzed.append(record)
            evaluation.alerts += alerts
        evaluation.marks = episodes.marks
        return evaluation

    def commit(self, evaluation: Evaluation) -> Future[None]:
        """Record the ledger entries and alert marks. Write the results only once this is done
        (``result()`` raises StateStoreError otherwise), so that a retry of a batch whose results were
        lost writes exactly the same results again."""
        return self.store.commit(evaluation.ledger, self.ledger_ttl_ms, evaluation.marks)

    def _classify(self, events: Sequence[Event], evaluation: Evaluation) -> list[_Accepted]:
        """Events to evaluate or answer from the ledger; copies of an event are counted or set aside."""
        keys = [ledger_key(event.event_id, order_event=isinstance(event, OrderEvent)) for event in events]
        lookup = self.store.lookup(keys)
        digests = [_fingerprint(event) for event in events]  # while Redis answers
        counted: dict[str, tuple[str, str]] = {}  # event id -> (fingerprint, arrival) of the copy that counts
        accepted: list[_Accepted] = []
        for event, key, digest, raw in zip(events, keys, digests, lookup.result(), strict=True):
            first = counted.get(event.event_id)
            if first is None and raw is None:  # the usual case: an event seen for the first time
                counted[event.event_id] = (digest, event.arrival)
                accepted.append(_Accepted(event, key, digest, None))
                continue
            if first is None:
                entry = _entry(raw, event)
                first = counted[event.event_id] = (digest, event.arrival) if entry is None else _counted(entry)
                if first[0] == digest:
                    accepted.append(_Accepted(event, key, digest, entry))
                    evaluation.redelivered += entry is not None
                    continue
            elif first[0] == digest:  # a second copy inside this batch: answered once
                evaluation.duplicates += 1
                continue
            evaluation.conflicts.append(Conflict(event, _conflict(event, first[1])))
        return accepted

    def _judge(
        self,
        item: _Accepted,
        own: Mapping[Scope, WindowState],
        arrival: tuple[dict[str, ArrivalView], set[str], int],
        episodes: Episodes,
        evaluation: Evaluation,
        now: int,
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Place one event in its windows, as they were when it arrived, and judge it there.

        ``arrival`` holds the part's window views (built on first use), the events not arrived when
        the part began and the lowest event time among them (see ArrivalView). A trade is scored;
        an order event only raises alerts (its record is None).
        """
        event = item.event
        views, not_arrived, earliest = arrival
        placed: dict[Scope, tuple[ArrivalView, int]] = {}
        late = False
        for scope, state in own.items():
            if state.statuses[event.event_id] == LATE:
                late = True
                continue
            if state.dormant:  # nothing there any of its rules could match
                continue
            view = views.get(state.key)
            if view is None:
                view = views[state.key] = ArrivalView(state, not_arrived, earliest)
            placed[scope] = (view, view.arrive(event.event_id))
        findings = self._findings(event, own, placed, episodes, evaluation)
        baseline, cents, signal = self._score_inputs(event, placed)
        strengths: dict[str, float] = {}
        alert_ids: list[str] = []
        alerts: list[dict[str, Any]] = []
        for finding in findings:
            pattern = finding.rule.pattern
            strengths[pattern] = max(strengths.get(pattern, 0.0), finding.strength)
            if finding.alert_id not in alert_ids:
                alert_ids.append(finding.alert_id)
            if finding.alert is not None:
                alerts.append(finding.alert)
            else:
                evaluation.extended_episodes += 1
        entry = LedgerEntry(
            event.arrival, item.fingerprint, late, baseline, cents, strengths, alert_ids, alerts, signal
        )
        evaluation.ledger.append((item.ledger_key, entry.encode()))
        evaluation.new_alerts += alerts
        evaluation.late_trades += late
        return self._analyzed(event, entry, now), alerts

    def _score_inputs(
        self, event: Event, placed: Mapping[Scope, tuple[ArrivalView, int]]
    ) -> tuple[Baseline, int, float]:
        """The user's baseline, the market's volume and the order-book signal of a trade as it arrived
        (nothing for an order event)."""
        if not isinstance(event, Trade):
            return NO_BASELINE, 0, 0.0
        user, market = placed.get(Scope.USER), placed.get(Scope.SYMBOL_EXCHANGE)
        baseline = NO_BASELINE
        if user is not None:
            baseline = self.scorer.baseline(event, user[0].before(user[1], self.scorer.config.baseline_trades))
        cents = market[0].volume_cents(self.scorer.volume_window(event.timestamp)) if market is not None else 0
        signal = 0.0
        for rule in self.signal_rules:
            where = placed.get(rule.scope)
            if where is not None:
                signal = max(signal, rule.trade_signal(where[0].events, where[1]))
        return baseline, cents, signal

    def _findings(
        self,
        event: Event,
        own: Mapping[Scope, WindowState],
        placed: Mapping[Scope, tuple[ArrivalView, int]],
        episodes: Episodes,
        evaluation: Evaluation,
    ) -> list[Finding]:
        findings = []
        if isinstance(event, Trade):
            for rule in self.trade_rules:
                try:
                    match = rule.check(event)
                except Exception as exc:  # a broken rule must not fail the batch: record it and go on
                    match = _failed(rule, event.trade_id, evaluation, exc)
                if match is not None:
                    findings.append(episodes.of_trade(rule, match, own[Scope.USER], event))
        for rule in self.sequence_rules:
            where = placed.get(rule.scope)
            if where is not None:  # an event late for this window is never seen by its sequence rules
                findings += episodes.of_sequence(rule, where[0], where[1], event)
        return findings

    def _replay(
        self, item: _Accepted, evaluation: Evaluation, now: int
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """An event already in the ledger: its first result again, exactly."""
        entry = item.entry
        assert entry is not None
        evaluation.republished_alerts += len(entry.alerts)
        evaluation.late_trades += entry.late
        return self._analyzed(item.event, entry, now), [dict(alert) for alert in entry.alerts]

    def _analyzed(self, event: Event, entry: LedgerEntry, now: int) -> dict[str, Any] | None:
        """The analysed-trade record of a trade; None for an order event (it raises alerts only)."""
        if not isinstance(event, Trade):
            return None
        scored = self.scorer.score(
            ScoreInputs(event, entry.strengths, entry.baseline, entry.market_volume_cents, entry.late, entry.order_book)
        )
        record = {
            "originalTrade": event.record,
            "triggeredPatterns": sorted(entry.strengths),
            "alertIds": list(entry.alert_ids),
            **scored,
            "processedAt": now,
            "engineVersion": ENGINE_VERSION,
        }
        # The trade's Avro body is at hand: encoding the record splices it in instead of re-encoding it.
        return HeadEncoded(record, event.content, TRADES_SUBJECT) if event.content else record


def _check(
    evaluation: Evaluation, rule: SequenceRule, events: Sequence[WindowEvent], end: int, subject: str
) -> Match | None:
    try:
        return rule.check(events, end)
    except Exception as exc:  # a broken rule must not fail the batch: record it and go on
        return _failed(rule, subject, evaluation, exc)


def _failed(rule: Rule, subject: str, evaluation: Evaluation, exc: Exception) -> None:
    logger.exception("rule %s failed on %s", rule.rule_id, subject)
    evaluation.rule_failures.append(RuleFailure(rule.rule_id, subject, f"{type(exc).__name__}: {exc}"))


def _suffix_minima(values: Sequence[int]) -> list[int]:
    """``minima[i] = min(values[i:])``, with one extra entry for the empty suffix."""
    minima = [0] * (len(values) + 1)
    minima[-1] = 2**63
    for index in range(len(values) - 1, -1, -1):
        minima[index] = min(values[index], minima[index + 1])
    return minima


def _fingerprint(event: Event) -> str:
    """From the event's canonical Avro body; for events built without one, from its record."""
    return fingerprint(event.content or repr(sorted(event.record.items())).encode())


def _counted(entry: LedgerEntry) -> tuple[str, str]:
    return entry.fingerprint, entry.arrival


def _entry(raw: bytes | None, event: Event) -> LedgerEntry | None:
    if raw is None:
        return None
    try:
        return LedgerEntry.decode(raw)
    except LedgerFormatError as exc:  # not ours to read: evaluate the event as new rather than fail forever
        logger.warning("ignoring the ledger entry of %s: %s", event.event_id, exc)
        return None


def _conflict(event: Event, first_arrival: str) -> str:
    if isinstance(event, OrderEvent):
        what, field_name = f"order event {event.event_id}", "eventId"
    else:
        what, field_name = f"trade {event.trade_id}", "tradeId"
    return (
        f"{what} was first received at {describe_arrival(first_arrival)} with different content; "
        f"the first copy's result stands. Send a correction under a new {field_name}."
    )
