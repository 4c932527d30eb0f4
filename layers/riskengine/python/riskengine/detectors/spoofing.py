"""SPOOFING: an outsized order cancelled unfilled within seconds while its owner traded the other side.

The bait is a NEW order far bigger than the user's usual ones in the market (``min_ratio`` x the
median of their previous orders, or ``min_notional_usd`` when they have too few of them); it is
cancelled with nothing filled within ``cancel_within_ms``, and between its placement and its cancel
the same user traded on the opposite side (a trade, or a fill of another order of theirs). A match
ends at the cancel and is named by the bait's order id, so one spoof is one alert.

"Previous orders" are those the order-book window still holds: the user's NEW orders in the
``history_events`` events before the cancel, placed at most ``history_ms`` before the bait.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from riskengine.detectors.base import (
    Match,
    RuleConfig,
    SequenceRule,
    escalate,
    reaches_multiple_of_mean,
    within_reach,
)
from riskengine.detectors.order_book import CANCEL, FILLS, NEW, is_unfilled_cancel, trades_against
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True)
class SpoofingConfig(RuleConfig):
    base_strength: float = 0.6
    min_ratio: float = 5.0
    previous_orders: int = 20
    min_previous_orders: int = 5
    min_notional_usd: float = 100_000.0
    cancel_within_ms: int = 30_000
    # What the window keeps for the median: events before a cancel, and time before its bait.
    history_events: int = 200
    history_ms: int = 3_600_000
    # The bait's size relative to its threshold at which strength reaches 1.0.
    saturation: float = 10.0

    def validate(self) -> None:
        if self.min_ratio < 1 or self.min_notional_usd <= 0 or self.cancel_within_ms <= 0 or self.saturation <= 1:
            raise ValueError("min_ratio >= 1, min_notional_usd > 0, cancel_within_ms > 0 and saturation > 1 required")
        if not 1 <= self.min_previous_orders <= self.previous_orders:
            raise ValueError("1 <= min_previous_orders <= previous_orders required")
        # The window must hold the previous orders, the bait, one opposite trade and the cancel.
        if self.history_events < self.previous_orders + 3 or self.history_ms < 0:
            raise ValueError("history_events >= previous_orders + 3 and history_ms >= 0 required")


class _Bait(NamedTuple):
    """What the scan back from a cancel found: the order's placement and events, the trades against it."""

    placed: int  # position of the order's NEW
    own: list[int]  # positions of the order's events (NEW, AMENDs, the cancel)
    opposite: list[int]  # positions of the user's opposite-side trades and fills in its lifetime


class Spoofing(SequenceRule):
    """Matches at the CANCEL of a bait order; the episode is the bait's order id."""

    name = pattern = "SPOOFING"
    version = 1
    scope = Scope.ORDER_BOOK
    Config = SpoofingConfig
    config: SpoofingConfig

    @property
    def length(self) -> int:
        return self.config.history_events

    @property
    def window_ms(self) -> int:
        return self.config.history_ms + self.config.cancel_within_ms

    @property
    def trade_reach_ms(self) -> int:
        # Trades are read between a bait and its cancel, and from a trade back to the orders it meets.
        return self.config.cancel_within_ms

    def last_affected(self, events: Sequence[WindowEvent], position: int) -> int:
        # A late opposite trade or a late bait completes a cancel at most cancel_within_ms after it.
        return within_reach(events, position, self.config.cancel_within_ms)

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        if not is_unfilled_cancel(events[end]):
            return None  # the usual case, decided before anything is scanned
        first = max(0, end - self.length + 1)  # what the window is sure to hold
        bait = self._bait(events, first, end)
        if bait is None or not bait.opposite:
            return None
        size = self._size(events, first, bait.placed)
        if size is None:
            return None
        previous, ratio = size
        return self._match(events, bait, previous, ratio)

    def trade_signal(self, events: Sequence[WindowEvent], position: int) -> float:
        """``base_strength`` when the trade at ``position`` is on the other side of an open order sized
        like a bait, placed at most ``cancel_within_ms`` before it with nothing filled: the trade is
        the spoof's profit, usually before the cancel that completes the match."""
        trade = events[position]
        first = max(0, position - self.length + 1)  # what the window is sure to hold
        earliest = trade.timestamp - self.config.cancel_within_ms
        closed: set[str] = set()  # orders cancelled or (partly) filled before the trade
        open_against: list[int] = []  # NEWs of the others, on the other side
        for placed in range(position - 1, first - 1, -1):
            event = events[placed]
            if event.timestamp < earliest:
                break
            if event.event_type == CANCEL or event.event_type in FILLS:
                closed.add(event.order_id)
            elif event.event_type == NEW and event.order_id not in closed and event.side != trade.side:
                open_against.append(placed)
        bait = any(self._size(events, first, placed) is not None for placed in open_against)
        return self.config.base_strength if bait else 0.0

    def _size(self, events: Sequence[WindowEvent], first: int, placed: int) -> tuple[list[float], float] | None:
        """The previous orders' notionals and how far past its threshold the NEW at ``placed`` is, if
        it is big enough to be a bait; None if not."""
        previous = self._previous_notionals(events, first, placed)
        notional, config = events[placed].notional, self.config
        if len(previous) >= config.min_previous_orders:
            if not reaches_multiple_of_mean(notional, config.min_ratio, _middle(previous)):
                return None
            return previous, notional / (config.min_ratio * statistics.median(previous))
        if notional >= config.min_notional_usd:
            return previous, notional / config.min_notional_usd
        return None

    def _bait(self, events: Sequence[WindowEvent], first: int, end: int) -> _Bait | None:
        """Scan back from the cancel at ``end`` to its order's NEW, at most ``cancel_within_ms``
        earlier: None if it is not there or the order had a fill."""
        cancel = events[end]
        earliest = cancel.timestamp - self.config.cancel_within_ms
        own, events_between = [end], []
        for position in range(end - 1, first - 1, -1):
            event = events[position]
            if event.timestamp < earliest:
                return None
            if event.order_id == cancel.order_id and not event.is_trade:
                if event.event_type in FILLS:
                    return None
                own.append(position)
                if event.event_type == NEW:
                    # Events stamped with the placement's time but ordered before it are in its lifetime too.
                    while position > first and events[position - 1].timestamp == event.timestamp:
                        position -= 1
                        events_between.append(position)
                    # The bait never filled, so no trade or fill against its side is its own.
                    opposite = [p for p in events_between if trades_against(events[p], event.side)]
                    return _Bait(own[-1], own[::-1], opposite[::-1])
            else:
                events_between.append(position)
        return None

    def _previous_notionals(self, events: Sequence[WindowEvent], first: int, placed: int) -> list[float]:
        """Notionals of the last ``previous_orders`` NEW orders before the bait within the history."""
        earliest = events[placed].timestamp - self.config.history_ms
        notionals: list[float] = []
        for position in range(placed - 1, first - 1, -1):
            event = events[position]
            if event.timestamp < earliest or len(notionals) == self.config.previous_orders:
                break
            if event.event_type == NEW:
                notionals.append(event.notional)
        return notionals

    def _match(self, events: Sequence[WindowEvent], bait: _Bait, previous: list[float], ratio: float) -> Match:
        placed, cancel = events[bait.placed], events[bait.own[-1]]
        median = statistics.median(previous) if previous else 0.0
        after = cancel.timestamp - placed.timestamp
        opposite = [events[p] for p in bait.opposite]
        first_trade = opposite[0].timestamp - placed.timestamp
        usual = (
            f"{placed.notional / median:.1f}x the median ${median:,.0f} of the user's {len(previous)} previous orders"
            if len(previous) >= self.config.min_previous_orders
            else f"with {len(previous)} previous orders, at least ${self.config.min_notional_usd:,.0f}"
        )
        return Match(
            # The further past its threshold the bait is, the stronger the sign.
            strength=escalate(self.config.base_strength, ratio, self.config.saturation),
            evidence=tuple(events[p].event_id for p in sorted(bait.own + bait.opposite)),
            timestamp=cancel.timestamp,
            metrics={
                "orderNotional": placed.notional,
                "medianOrderNotional": median,
                "notionalRatio": placed.notional / median if median else 0.0,
                "notionalRatioThreshold": self.config.min_ratio,
                "previousOrders": float(len(previous)),
                "cancelAfterMs": float(after),
                "cancelWithinMs": float(self.config.cancel_within_ms),
                "oppositeTrades": float(len(opposite)),
            },
            description=(
                f"{placed.side} order {placed.order_id} of ${placed.notional:,.0f} ({usual}) cancelled unfilled "
                f"{after / 1000:.1f} s after it was placed; meanwhile the user traded the other side "
                f"({len(opposite)} trade and fill events, the first {first_trade / 1000:.1f} s after placing it)"
            ),
            episode=placed.order_id,
        )


def _middle(values: list[float]) -> tuple[float, ...]:
    """The one or two middle values of ``values``, whose mean is their median."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return tuple(ordered[middle - 1 : middle + 1]) if len(ordered) % 2 == 0 else (ordered[middle],)


DETECTOR = Spoofing
