"""EXCESSIVE_CANCELS: a user cancelling far more orders than they fill, or stuffing the book with orders.

Either condition, over the user's order events in every market, at an order event:

- the cancel ratio: within ``window_ms`` ending at the event, at least ``min_orders`` NEW orders,
  at least ``min_fills`` FILL events and at least ``cancels_per_fill`` CANCELs per FILL;
- quote stuffing: more than ``stuffing_max_events`` order events within ``stuffing_window_ms``
  ending at the event.

A position matches when a condition holds over the window ending at its event, whatever that
event is: a FILL or an AMEND inside a run of cancels can still leave the ratio above the limit (and
the window sliding past an old FILL can raise it), so runs of matches are not cut at them.
Consecutive matching positions are one episode, as for the spine's rules.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from riskengine.detectors.base import (
    Match,
    RuleConfig,
    SequenceRule,
    escalate,
    reach_back,
    reaches_multiple,
    within_reach,
)
from riskengine.detectors.order_book import CANCEL, FILL, NEW
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope

_EVENT_TYPE = attrgetter("event_type")


@dataclass(frozen=True)
class ExcessiveCancelsConfig(RuleConfig):
    base_strength: float = 0.3
    window_ms: int = 30 * 60_000
    min_orders: int = 20
    min_fills: int = 1
    cancels_per_fill: float = 6.0
    stuffing_window_ms: int = 60_000
    stuffing_max_events: int = 45
    # How far past its limit a condition is (cancels per fill, events per window) at which strength reaches 1.0.
    saturation: float = 5.0

    def validate(self) -> None:
        if self.window_ms <= 0 or self.min_orders < 1 or self.min_fills < 1 or self.cancels_per_fill <= 0:
            raise ValueError("window_ms > 0, min_orders >= 1, min_fills >= 1 and cancels_per_fill > 0 required")
        if self.stuffing_window_ms < 0 or self.stuffing_max_events < 1 or self.saturation <= 1:
            raise ValueError("stuffing_window_ms >= 0, stuffing_max_events >= 1 and saturation > 1 required")


class _Counted(NamedTuple):
    """The events one condition counted: from ``start`` to the matching position, over ``window_ms``."""

    start: int
    window_ms: int
    orders: int
    cancels: int
    fills: int


class ExcessiveCancels(SequenceRule):
    """Matches at every order event where a condition holds; unnamed episodes (runs of matches)."""

    name = pattern = "EXCESSIVE_CANCELS"
    version = 1
    scope = Scope.USER_ORDERS
    Config = ExcessiveCancelsConfig
    config: ExcessiveCancelsConfig

    @property
    def length(self) -> int:
        """Enough events to see the whole ratio window of any user who is not stuffing: with at most
        ``stuffing_max_events`` in every stuffing window, ``window_ms`` holds at most that many times
        the stuffing windows it takes to cover it. A user with more is stuffing somewhere in it."""
        config = self.config
        covering = math.ceil((config.window_ms + 1) / (config.stuffing_window_ms + 1))
        return config.stuffing_max_events * covering + 1

    @property
    def window_ms(self) -> int:
        return max(self.config.window_ms, self.config.stuffing_window_ms)

    def last_affected(self, events: Sequence[WindowEvent], position: int) -> int:
        # An event counts in the windows of the events at most window_ms after it, however many they are.
        return within_reach(events, position, self.window_ms)

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        config, now = self.config, events[end].timestamp
        first_stuffed = end - config.stuffing_max_events  # one more than the limit, by index
        stuffing = first_stuffed >= 0 and now - events[first_stuffed].timestamp <= config.stuffing_window_ms
        fewest = end - (config.min_orders + config.min_fills) + 1  # the fewest events the ratio needs
        if not stuffing and (fewest < 0 or now - events[fewest].timestamp > config.window_ms):
            return None  # the usual case, decided by index arithmetic alone
        ratio = self._ratio(events, end)
        if ratio is not None and self._ratio_holds(ratio):
            return self._match(events, end, ratio, ratio_holds=True, stuffing=stuffing)
        if stuffing:
            minute = self._count(events, end, config.stuffing_window_ms)
            return self._match(events, end, minute, ratio_holds=False, stuffing=True)
        return None

    def _ratio(self, events: Sequence[WindowEvent], end: int) -> _Counted | None:
        """The counts over ``window_ms`` ending at ``end``; None when the window may hold more events
        than the rule keeps (only a user stuffing within it can have that many)."""
        oldest = end - self.length + 1
        if oldest >= 0 and events[end].timestamp - events[oldest].timestamp <= self.config.window_ms:
            return None
        return self._count(events, end, self.config.window_ms)

    def _ratio_holds(self, counted: _Counted) -> bool:
        config = self.config
        return (
            counted.orders >= config.min_orders
            and counted.fills >= config.min_fills
            # "at least 6x", judged exactly: 2.2 x 25 fills is 55.00000000000001 in floats, not 55.
            and reaches_multiple(counted.cancels, config.cancels_per_fill, counted.fills)
        )

    def _count(self, events: Sequence[WindowEvent], end: int, window_ms: int) -> _Counted:
        """NEWs, CANCELs and FILLs from the first event at most ``window_ms`` before ``end`` (within
        the events the rule keeps) to ``end``."""
        start = self._since(events, end, window_ms)
        counts = Counter(map(_EVENT_TYPE, events[start : end + 1]))
        return _Counted(start, window_ms, counts[NEW], counts[CANCEL], counts[FILL])

    def _since(self, events: Sequence[WindowEvent], end: int, window_ms: int) -> int:
        return reach_back(events, end, window_ms, max(0, end - self.length + 1))

    def _match(
        self, events: Sequence[WindowEvent], end: int, counted: _Counted, *, ratio_holds: bool, stuffing: bool
    ) -> Match:
        """The match over the events ``counted`` (the ratio's window when it holds, else the stuffing one)."""
        config = self.config
        in_stuffing_window = end - self._since(events, end, config.stuffing_window_ms) + 1
        per_fill = counted.cancels / counted.fills if counted.fills else 0.0
        # How far past its limit each condition that holds is; the further, the stronger.
        beyond = [in_stuffing_window / config.stuffing_max_events] if stuffing else []
        if ratio_holds:
            beyond.append(per_fill / config.cancels_per_fill)
        metrics = {
            "ordersPlaced": float(counted.orders),
            "cancels": float(counted.cancels),
            "fills": float(counted.fills),
            "cancelsPerFillThreshold": config.cancels_per_fill,
            "orderEvents": float(in_stuffing_window),
            "orderEventsThreshold": float(config.stuffing_max_events),
            "windowMs": float(counted.window_ms),
        }
        if counted.fills:  # no ratio without a fill
            metrics["cancelsPerFill"] = per_fill
        found = []
        if ratio_holds:
            found.append(
                f"{counted.orders} orders placed and {counted.cancels} cancelled against {counted.fills} filled "
                f"within {config.window_ms / 60_000:g} min ({per_fill:.1f} cancels per fill, limit "
                f"{config.cancels_per_fill:g})"
            )
        if stuffing:
            found.append(
                f"{in_stuffing_window} order events within {config.stuffing_window_ms / 1000:g} s "
                f"(limit {config.stuffing_max_events})"
            )
        return Match(
            strength=escalate(config.base_strength, max(beyond), config.saturation),
            evidence=tuple(event.event_id for event in events[counted.start : end + 1]),
            timestamp=events[end].timestamp,
            metrics=metrics,
            description="; ".join(found),
        )


DETECTOR = ExcessiveCancels
