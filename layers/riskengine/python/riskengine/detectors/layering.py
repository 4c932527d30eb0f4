"""LAYERING: orders stacked at several price levels on one side, all cancelled unfilled, while their
owner traded the other side.

At least ``min_orders`` NEW orders on one side at ``min_levels`` distinct prices, placed within
``place_within_ms`` of the first of them, all cancelled with nothing filled within
``cancel_within_ms`` of that first placement, and at least one trade or fill of the same user on the
opposite side between the first placement and the last cancel. The layers stand in the book
together: at least ``min_resting_orders`` of them are open at one moment, so a trader who cancels and
re-places one order at a time is never a layer, however often they do it (1 drops the condition).
A match ends at a cancel that completes such a group (the group's last cancel) and is named by the
group's first order, the earliest that qualifies, so every later cancel of the same layer joins the
same episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from riskengine.detectors.base import Match, RuleConfig, SequenceRule, escalate, reach_back, within_reach
from riskengine.detectors.order_book import FILLS, NEW, is_unfilled_cancel, trades_against
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope


@dataclass(frozen=True)
class LayeringConfig(RuleConfig):
    base_strength: float = 0.6
    min_orders: int = 4
    min_levels: int = 4
    min_resting_orders: int = 4
    place_within_ms: int = 60_000
    cancel_within_ms: int = 90_000
    # The events before a cancel the window keeps for its group.
    history_events: int = 200
    # Distinct price levels / min_levels at which strength reaches 1.0.
    saturation: float = 3.0

    def validate(self) -> None:
        if self.min_orders < 2 or self.min_levels < 1 or self.saturation <= 1:
            raise ValueError("min_orders >= 2, min_levels >= 1 and saturation > 1 required")
        if not 1 <= self.min_resting_orders <= self.min_orders:
            raise ValueError("1 <= min_resting_orders <= min_orders required")
        if self.place_within_ms < 0 or self.cancel_within_ms <= 0:
            raise ValueError("place_within_ms >= 0 and cancel_within_ms > 0 required")
        # The window must hold every order of a group placed and cancelled, and one opposite trade.
        if self.history_events < 2 * self.min_orders + 1:
            raise ValueError("history_events >= 2 * min_orders + 1 required")


@dataclass(eq=False)  # an order is itself, whatever its fields
class _Order:
    """One order's events within the reach of a cancel (positions in the window)."""

    placed: int = -1  # its NEW, -1 while not seen
    events: list[int] = field(default_factory=list)
    cancelled: int = -1  # its unfilled CANCEL, -1 if none
    filled: bool = False


class Layering(SequenceRule):
    """Matches at the last cancel of a layer; the episode is the layer's first order id."""

    name = pattern = "LAYERING"
    version = 1
    scope = Scope.ORDER_BOOK
    Config = LayeringConfig
    config: LayeringConfig

    @property
    def length(self) -> int:
        return self.config.history_events

    @property
    def window_ms(self) -> int:
        return self.config.cancel_within_ms

    @property
    def trade_reach_ms(self) -> int:
        # A layer's trades lie within cancel_within_ms before its last cancel (``_reach``).
        return self.config.cancel_within_ms

    def last_affected(self, events: Sequence[WindowEvent], position: int) -> int:
        # Every event of a layer lies between its first placement and a cancel at most cancel_within_ms later.
        return within_reach(events, position, self.config.cancel_within_ms)

    def check(self, events: Sequence[WindowEvent], end: int) -> Match | None:
        if not is_unfilled_cancel(events[end]):
            return None  # the usual case, decided before anything is scanned
        orders, trades = self._reach(events, end)
        last = orders[events[end].order_id]
        if last.placed < 0 or last.filled:
            return None
        side = events[last.placed].side
        candidates = [
            order
            for order in orders.values()
            if order.placed >= 0 and order.cancelled >= 0 and not order.filled and events[order.placed].side == side
        ]
        candidates.sort(key=lambda order: order.placed)
        for first in candidates:  # the earliest first order that makes a layer ending here names it
            if first.placed > last.placed:
                break
            layer = self._layer(events, first, candidates)
            if layer is None or not any(order is last for order in layer):
                continue
            start = events[first.placed].timestamp
            opposite = [p for p in trades if events[p].timestamp >= start and trades_against(events[p], side)]
            if opposite:
                return self._match(events, end, first, layer, opposite)
        return None

    def _reach(self, events: Sequence[WindowEvent], end: int) -> tuple[dict[str, _Order], list[int]]:
        """The lives of the orders with events at most ``cancel_within_ms`` before the cancel at ``end``
        (every event a layer ending there can have), and the positions of the trades and fills."""
        oldest = max(0, end - self.length + 1)  # what the window is sure to hold
        first = reach_back(events, end, self.config.cancel_within_ms, oldest)
        orders: dict[str, _Order] = {}
        trades: list[int] = []
        for position in range(first, end + 1):
            event = events[position]
            if event.is_trade or event.event_type in FILLS:
                trades.append(position)
            if event.is_trade:
                continue
            order = orders.setdefault(event.order_id, _Order())
            order.events.append(position)
            if event.event_type == NEW:
                order.placed = position
            elif event.event_type in FILLS:
                order.filled = True
            elif is_unfilled_cancel(event):
                order.cancelled = position
        return orders, trades

    def _layer(self, events: Sequence[WindowEvent], first: _Order, candidates: list[_Order]) -> list[_Order] | None:
        """The orders placed within ``place_within_ms`` of ``first`` and cancelled within
        ``cancel_within_ms`` of its placement, if they are enough orders at enough levels resting
        together to be a layer."""
        start, config = events[first.placed].timestamp, self.config
        group = [
            order
            for order in candidates
            if 0 <= events[order.placed].timestamp - start <= config.place_within_ms
            and events[order.cancelled].timestamp - start <= config.cancel_within_ms
        ]
        if len(group) < config.min_orders or len(_levels(events, group)) < config.min_levels:
            return None
        return group if _most_resting(group) >= config.min_resting_orders else None

    def _match(
        self,
        events: Sequence[WindowEvent],
        end: int,
        first_order: _Order,
        group: list[_Order],
        opposite: list[int],
    ) -> Match:
        first, cancel = events[first_order.placed], events[end]
        placements = [events[order.placed] for order in group]
        prices = sorted(placed.price for placed in placements)
        levels = len(_levels(events, group))
        placement_span = max(placed.timestamp for placed in placements) - first.timestamp
        cancel_span = cancel.timestamp - first.timestamp
        return Match(
            # More levels stacked, more pressure on the price: the stronger the sign.
            strength=escalate(self.config.base_strength, levels / self.config.min_levels, self.config.saturation),
            evidence=tuple(events[p].event_id for p in sorted([p for o in group for p in o.events] + opposite)),
            timestamp=cancel.timestamp,
            metrics={
                "orders": float(len(group)),
                "ordersThreshold": float(self.config.min_orders),
                "priceLevels": float(levels),
                "priceLevelsThreshold": float(self.config.min_levels),
                "placementSpanMs": float(placement_span),
                "cancelSpanMs": float(cancel_span),
                "oppositeTrades": float(len(opposite)),
            },
            description=(
                f"{len(group)} {first.side} orders at {levels} price levels ({prices[0]:g} to {prices[-1]:g}) "
                f"placed within {placement_span / 1000:.1f} s and all cancelled unfilled within "
                f"{cancel_span / 1000:.1f} s of the first, while the user traded the other side "
                f"({len(opposite)} trade and fill events)"
            ),
            episode=first.order_id,
        )


def _levels(events: Sequence[WindowEvent], group: list[_Order]) -> set[float]:
    """The distinct prices the orders were placed at."""
    return {events[order.placed].price for order in group}


def _most_resting(group: list[_Order]) -> int:
    """The most orders of ``group`` open at one moment (window order: placed, not yet cancelled)."""
    changes = sorted([(order.placed, 1) for order in group] + [(order.cancelled, -1) for order in group])
    most = resting = 0
    for _, change in changes:
        resting += change
        most = max(most, resting)
    return most


DETECTOR = Layering
