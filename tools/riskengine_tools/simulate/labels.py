"""labels.jsonl: one object per injected episode, gathered as the episode's events are written.

The format is shared with ``riskengine backtest`` (docs/detection.md, "Labels"): the alert pattern
(a SELF_TRADE episode is labelled WASH_TRADING, as the engine alerts it), the subject (the market
for market-scoped patterns, else the trader, with the market when the episode had one), the event
times of the first and last event, and every trade id and order event id in stream order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from riskengine.detectors import SequenceRule, available_rules
from riskengine.windows.spec import Scope

Label = dict[str, Any]


@cache
def alert_pattern(planner: str) -> tuple[str, bool]:
    """The alert pattern of a trade-flow planner (named after its rule) and whether it is market-scoped."""
    rule = available_rules()[planner]
    market = issubclass(rule, SequenceRule) and rule.scope is Scope.SYMBOL_EXCHANGE
    return rule.pattern, market


@dataclass(slots=True)
class _Episode:
    pattern: str
    planner: str
    market_scoped: bool
    expected: int | None  # events still to come when known up front; None: until told it is complete
    ids: list[str] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    users: set[str] = field(default_factory=set)
    markets: set[tuple[str, str]] = field(default_factory=set)

    def label(self) -> Label:
        symbol, exchange = next(iter(self.markets)) if len(self.markets) == 1 else (None, None)
        if self.market_scoped and symbol is None:
            raise ValueError(f"a {self.pattern} episode spans markets {sorted(self.markets)}; it must have one")
        if not self.market_scoped and len(self.users) != 1:
            raise ValueError(f"a {self.pattern} episode has traders {sorted(self.users)}; it must have one")
        user = None if self.market_scoped else next(iter(self.users))
        return {
            "patternType": self.pattern,
            "userId": user,
            "symbol": symbol,
            "exchange": exchange,
            "start": self.times[0],
            "end": self.times[-1],
            "eventIds": list(self.ids),
        }


class LabelBook:
    """Episodes in progress and finished, keyed by whatever identifies them to their source."""

    def __init__(self) -> None:
        self._open: dict[Hashable, _Episode] = {}
        self._done: list[Label] = []
        self._planners: Counter[tuple[str, str]] = Counter()

    def open(
        self, key: Hashable, pattern: str, planner: str, *, market_scoped: bool = False, events: int | None = None
    ) -> None:
        """Episode ``key`` (injected by ``planner``) has started: ``events`` records will be written for
        it, or, when None, until one comes with ``last``. Opening an open episode again changes nothing."""
        if key not in self._open:
            self._open[key] = _Episode(pattern, planner, market_scoped, events)

    def record(self, key: Hashable, record: dict[str, Any], last: bool = False) -> None:
        """A record of episode ``key`` was written (``last``: the episode is complete with it)."""
        episode = self._open[key]
        episode.ids.append(record["eventId"] if record["kind"] == "order" else record["tradeId"])
        episode.times.append(record["timestamp"])
        episode.users.add(record["userId"])
        episode.markets.add((record["symbol"], record["exchange"]))
        if last or (episode.expected is not None and len(episode.ids) == episode.expected):
            del self._open[key]
            self._done.append(episode.label())
            self._planners[episode.pattern, episode.planner] += 1

    @property
    def unfinished(self) -> int:
        return len(self._open)

    def finished(self) -> dict[str, dict[str, int]]:
        """Finished episodes by pattern, then by the planner that injected them."""
        counts: dict[str, dict[str, int]] = {}
        for (pattern, planner), count in sorted(self._planners.items()):
            counts.setdefault(pattern, {})[planner] = count
        return counts

    def labels(self) -> list[Label]:
        """Finished episodes by start time (then first event id: ids are unique)."""
        return sorted(self._done, key=lambda label: (label["start"], label["eventIds"][0]))
