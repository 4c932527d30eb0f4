"""The one small interface every detection rule implements.

A rule is a class in its own module with a versioned, validated ``Config``. Trade rules look
at one trade; sequence rules look at the ordered events of one window and answer whether a
match *ends* at a given position. The harness (:mod:`riskengine.engine`) decides where to
look, applies the overlap strategy, turns strengths into severities and turns a failing rule
into a result instead of a crash.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from riskengine.model import Trade
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule found: how strongly (0..1), on which evidence, with which measurements."""

    strength: float
    evidence: tuple[str, ...]
    timestamp: int
    metrics: Mapping[str, float]
    description: str


@dataclass(frozen=True)
class RuleConfig:
    """Settings every rule has. Subclasses add their thresholds, validated in ``validate``."""

    enabled: bool = True
    base_strength: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.base_strength <= 1.0:
            raise ValueError(f"base_strength must be within 0..1, got {self.base_strength}")
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the setting and the accepted range."""


class Rule(ABC):
    """Common identity of a rule: ``pattern`` is the alert type, ``rule_id`` names rule@version."""

    name: ClassVar[str]
    pattern: ClassVar[str]
    version: ClassVar[int]
    Config: ClassVar[type[RuleConfig]]

    def __init__(self, config: RuleConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    @property
    def rule_id(self) -> str:
        return f"{self.name}@{self.version}"


class TradeRule(Rule):
    """A rule that needs nothing but the trade itself."""

    @abstractmethod
    def check(self, trade: Trade) -> Match | None: ...


class SequenceRule(Rule):
    """A rule over the event-time-ordered events of one window scope.

    ``length`` is how many consecutive events a match spans; ``window_ms`` the longest
    event-time span a match may have (it sizes the window's retention).
    """

    scope: ClassVar[Scope]

    @property
    @abstractmethod
    def length(self) -> int: ...

    @property
    @abstractmethod
    def window_ms(self) -> int: ...

    @abstractmethod
    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        """The match whose last event is ``events[end]``, if there is one."""


def escalate(base: float, ratio: float, saturation: float) -> float:
    """Strength grows from ``base`` at the threshold (ratio 1) to 1.0 at ``saturation`` x it."""
    if ratio <= 1.0:
        return base
    return min(1.0, base + (1.0 - base) * math.log(ratio) / math.log(saturation))


def last_events(events: Sequence[WindowEvent], end: int, count: int) -> Sequence[WindowEvent] | None:
    """The ``count`` events ending at ``end``, or None when the window has fewer."""
    start = end - count + 1
    return events[start : end + 1] if start >= 0 else None
