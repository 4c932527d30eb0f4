"""The one small interface every detection rule implements.

A rule is a class in its own module with a versioned, validated ``Config``. Trade rules look
at one trade; sequence rules look at the ordered events of one window and answer whether a
match *ends* at a given position. The harness (:mod:`riskengine.engine`) decides where to
look, applies the overlap strategy, turns strengths into severities and turns a failing rule
into a result instead of a crash.
"""

from __future__ import annotations

import bisect
import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from fractions import Fraction
from typing import ClassVar

from riskengine.model import Trade
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True, slots=True)
class Match:
    """What a rule found: how strongly (0..1), on which evidence, with which measurements.

    ``episode`` names the episode the match belongs to when the rule knows it (a spoof's order id,
    a layer's first order id): every match with that name joins one alert, whatever the window's
    order. Empty: the harness groups consecutive matching positions into episodes.
    """

    strength: float
    evidence: tuple[str, ...]
    timestamp: int
    metrics: Mapping[str, float]
    description: str
    episode: str = ""


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

    @property
    def trade_reach_ms(self) -> int:
        """How far before an event it judges the rule reads trades, in event time. In an order-book
        window that has never held an order event (its gate is closed: ``Scope.gate``) older trades are
        dropped, since no judgement can read them. Rules that read trades further back keep the default."""
        return self.window_ms

    def trade_signal(self, events: Sequence[WindowEvent], position: int) -> float:
        """How strongly the trade at ``position`` looks like a leg of this pattern before any match
        completes (0..1): the analysed trade's ``orderBook`` score component. Most rules have none."""
        return 0.0

    def last_affected(self, events: Sequence[WindowEvent], position: int) -> int:
        """The last position whose match can include ``events[position]``: the harness checks every
        position from ``position`` to it again when an event arrives there (late or not)."""
        return min(position + self.length - 1, len(events) - 1)


def within_reach(events: Sequence[WindowEvent], position: int, reach_ms: int) -> int:
    """The last position at most ``reach_ms`` of event time after ``events[position]``: the
    ``last_affected`` of a rule whose matches span time rather than a count of events."""
    limit = events[position].timestamp + reach_ms
    last = position
    while last + 1 < len(events) and events[last + 1].timestamp <= limit:
        last += 1
    return last


def reach_back(events: Sequence[WindowEvent], end: int, reach_ms: int, oldest: int = 0) -> int:
    """The first position, not before ``oldest``, at most ``reach_ms`` of event time before
    ``events[end]``: where a window of ``reach_ms`` ending at ``end`` starts."""
    return bisect.bisect_left(events, events[end].timestamp - reach_ms, oldest, end, key=_timestamp)


def _timestamp(event: WindowEvent) -> int:
    return event.timestamp


def escalate(base: float, ratio: float, saturation: float) -> float:
    """Strength grows from ``base`` at the threshold (ratio 1) to 1.0 at ``saturation`` x it."""
    if ratio <= 1.0:
        return base
    return min(1.0, base + (1.0 - base) * math.log(ratio) / math.log(saturation))


# Float products are within ~1e-16 of the exact decimal product of the inputs' shortest reprs, so a
# relative gap wider than this cannot be a rounding artefact and the float comparison decides.
EXACT_COMPARISON_BAND = 1e-9
# Subnormal numbers lose relative precision (repr(5e-324) is 1 % off the double), so comparisons
# involving one (or zero) always take the exact path.
_SMALLEST_NORMAL = sys.float_info.min
# Two reprs have at most 17 significant digits each: a 40-digit product is never rounded.
_EXACT = Context(prec=40)


def exceeds_multiple(value: float, factor: float, base: float) -> bool:
    """``value > factor * base``, judged exactly on the decimal numbers the floats print as.

    Thresholds are written in decimal (1.1x, 1.5x); in binary 18.513 / 16.83 is 1.1000000000000003
    and 1.5 * 1000.01 is 1500.0149999999999, so a float comparison at exactly the threshold can go
    either way. Only comparisons within EXACT_COMPARISON_BAND of the threshold (or on subnormal
    numbers) pay for Decimal arithmetic.
    """
    scaled = factor * base
    magnitude = abs(scaled)
    # Written out rather than in a helper: this runs for every window position a rule looks at.
    if (
        abs(value - scaled) > EXACT_COMPARISON_BAND * magnitude
        and magnitude >= _SMALLEST_NORMAL
        and abs(base) >= _SMALLEST_NORMAL
        and abs(factor) >= _SMALLEST_NORMAL
    ):
        return value > scaled
    if math.isnan(value) or not (math.isfinite(factor) and math.isfinite(base)):
        return value > scaled  # Decimal cannot compare nan or multiply inf by 0; floats answer as IEEE does
    return Decimal(repr(value)) > _EXACT.multiply(Decimal(repr(factor)), Decimal(repr(base)))


def reaches_multiple(value: float, factor: float, base: float) -> bool:
    """``value >= factor * base``, judged exactly on the decimal numbers the floats print as: the
    inclusive counterpart of :func:`exceeds_multiple`, for thresholds stated as "at least 5x"."""
    return reaches_multiple_of_mean(value, factor, (base,))


def reaches_multiple_of_mean(value: float, factor: float, terms: Sequence[float]) -> bool:
    """``value >= factor * mean(terms)``, judged exactly on the decimal numbers the floats print as.

    A median is the mean of its one or two middle values, and the float mean of two can be rounded
    (``(0.1 + 0.2) / 2`` is 0.15000000000000002), as can the product with the factor. As in
    :func:`exceeds_multiple`, floats decide whenever they are clearly on one side; otherwise the
    comparison is made on fractions, which are exact at any magnitude.
    """
    scaled = factor * (sum(terms) / len(terms))  # inf when it overflows: then the exact path decides
    operands = (value, factor, *terms)
    if not all(math.isfinite(operand) for operand in operands):
        return value >= scaled  # nan compares false, infinities as IEEE says; fractions have neither
    if abs(value - scaled) > EXACT_COMPARISON_BAND * abs(scaled) and all(
        abs(operand) >= _SMALLEST_NORMAL for operand in (scaled, factor, *terms)
    ):
        return value >= scaled
    exact_sum = sum(Fraction(repr(term)) for term in terms)
    return Fraction(repr(value)) * len(terms) >= Fraction(repr(factor)) * exact_sum


def last_events(events: Sequence[WindowEvent], end: int, count: int) -> Sequence[WindowEvent] | None:
    """The ``count`` events ending at ``end``, or None when the window has fewer."""
    start = end - count + 1
    return events[start : end + 1] if start >= 0 else None
