"""Reference implementations of the order-book rules' definitions (issue 11) over a mixed stream.

Written from the definitions alone (docs/detection.md), independently of the simulator and of the
engine, and slow on purpose: plain loops over the whole file. Each returns every match it finds,
with the ids of its evidence, so a test can compare matches with labelled episodes. Times are
inclusive; "a trade or a fill" is a trade line of the trader or a fill event of another order of
theirs. Where a definition can be read two ways, the loosest reading is taken (any set of orders
that qualifies, not only consecutive ones), so data that passes as honest here passes any reading.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The rules' defaults, from the one place the simulator sizes its episodes by (the checking here is
# written independently of the simulator; the thresholds are the issue's, not the simulator's own).
from riskengine_tools.simulate.rules import (
    CANCELS_MIN_ORDERS,
    CANCELS_PER_FILL,
    CANCELS_WINDOW_MS,
    LAYERING_CANCEL_WITHIN_MS,
    LAYERING_MIN_LEVELS,
    LAYERING_MIN_ORDERS,
    LAYERING_PLACE_WITHIN_MS,
    SPOOF_CANCEL_WITHIN_MS,
    SPOOF_HISTORY,
    SPOOF_MIN_HISTORY,
    SPOOF_MIN_NOTIONAL_USD,
    SPOOF_MIN_RATIO,
    STUFFING_MAX_EVENTS,
    STUFFING_WINDOW_MS,
)

Record = Mapping[str, Any]

FILL_TYPES = ("PARTIAL_FILL", "FILL")


@dataclass(frozen=True)
class Match:
    pattern: str
    user_id: str
    symbol: str | None
    exchange: str | None
    evidence: frozenset[str]


@dataclass
class _Order:
    events: list[Record]

    @property
    def placed(self) -> Record:
        return self.events[0]

    @property
    def cancelled_unfilled(self) -> Record | None:
        """The order's CANCEL when nothing of it was ever filled, else None."""
        for event in self.events:
            if event["eventType"] in FILL_TYPES:
                return None
            if event["eventType"] == "CANCEL":
                return event if event["filledQuantity"] == 0 else None
        return None


@dataclass(frozen=True)
class _Traded:
    """A trade of the trader, or a fill event of one of their orders: what 'traded' means."""

    at: int
    side: str
    event_id: str
    order_id: str | None


class _Book:
    """The stream indexed by trader and market."""

    def __init__(self, records: Iterable[Record]) -> None:
        self.orders: dict[str, _Order] = {}
        self.order_events: defaultdict[str, list[Record]] = defaultdict(list)
        self.traded: defaultdict[tuple[str, str, str], list[_Traded]] = defaultdict(list)
        for record in records:
            market = (record["userId"], record["symbol"], record["exchange"])
            if record.get("kind", "trade") == "order":
                self.orders.setdefault(record["orderId"], _Order([])).events.append(record)
                self.order_events[record["userId"]].append(record)
                if record["eventType"] in FILL_TYPES:
                    traded = _Traded(record["timestamp"], record["side"], record["eventId"], record["orderId"])
                    self.traded[market].append(traded)
            else:
                traded = _Traded(record["timestamp"], record["side"], record["tradeId"], record.get("orderId"))
                self.traded[market].append(traded)

    def opposite(self, placed: Record, start: int, end: int, own: set[str]) -> list[str]:
        """Ids of the trader's trades and fills on the other side of ``placed`` in its market within
        [start, end], other than those of the orders ``own``."""
        market = (placed["userId"], placed["symbol"], placed["exchange"])
        return [
            t.event_id
            for t in self.traded[market]
            if t.side != placed["side"] and start <= t.at <= end and t.order_id not in own
        ]


def bait_orders(records: Iterable[Record], median_by_market: bool = True) -> list[Record]:
    """The NEW events of orders big enough to be SPOOFING's bait (the size condition alone), in event
    time; ``median_by_market``: the previous orders are those in the same market (the rule is per
    user, symbol and exchange), else all of the trader's."""
    history: defaultdict[tuple[str, ...], deque[float]] = defaultdict(lambda: deque(maxlen=SPOOF_HISTORY))
    baits = []
    for placed in records:
        if placed.get("kind") != "order" or placed["eventType"] != "NEW":
            continue
        scope = (placed["userId"], placed["symbol"], placed["exchange"]) if median_by_market else (placed["userId"],)
        previous = history[scope]
        if len(previous) < SPOOF_MIN_HISTORY:
            threshold = SPOOF_MIN_NOTIONAL_USD
        else:
            threshold = SPOOF_MIN_RATIO * statistics.median(previous)
        previous.append(placed["notional"])
        if placed["notional"] >= threshold:
            baits.append(placed)
    return baits


def spoofing(records: Iterable[Record], median_by_market: bool = True) -> list[Match]:
    """SPOOFING: a bait-sized order (:func:`bait_orders`) cancelled unfilled within the window, with a
    trade or fill of the trader on the other side of its market in between."""
    records = list(records)
    book = _Book(records)
    matches = []
    for placed in bait_orders(records, median_by_market):
        order = book.orders[placed["orderId"]]
        cancel = order.cancelled_unfilled
        if cancel is None or cancel["timestamp"] - placed["timestamp"] > SPOOF_CANCEL_WITHIN_MS:
            continue
        traded = book.opposite(placed, placed["timestamp"], cancel["timestamp"], {placed["orderId"]})
        if traded:
            evidence = frozenset([*(event["eventId"] for event in order.events), *traded])
            matches.append(Match("SPOOFING", placed["userId"], placed["symbol"], placed["exchange"], evidence))
    return matches


def layering(records: Iterable[Record]) -> list[Match]:
    """LAYERING: for every qualifying first order, the orders of its side and market placed within the
    window that were all cancelled unfilled within the cancel window."""
    book = _Book(records)
    sides: defaultdict[tuple[str, str, str, str], list[_Order]] = defaultdict(list)
    for order in book.orders.values():
        placed = order.placed
        if order.cancelled_unfilled is not None:
            sides[placed["userId"], placed["symbol"], placed["exchange"], placed["side"]].append(order)
    matches = []
    for orders in sides.values():
        orders.sort(key=lambda order: order.placed["timestamp"])
        for index, first in enumerate(orders):
            start = first.placed["timestamp"]
            group = [
                order
                for order in orders[index:]
                if order.placed["timestamp"] - start <= LAYERING_PLACE_WITHIN_MS
                and _cancel_time(order) - start <= LAYERING_CANCEL_WITHIN_MS
            ]
            if first not in group:  # a first order cancelled too late is not part of a layer, let alone its first
                continue
            if len(group) < LAYERING_MIN_ORDERS or len({o.placed["price"] for o in group}) < LAYERING_MIN_LEVELS:
                continue
            own = {order.placed["orderId"] for order in group}
            traded = book.opposite(first.placed, start, max(_cancel_time(order) for order in group), own)
            if traded:
                evidence = frozenset([*(e["eventId"] for order in group for e in order.events), *traded])
                placed = first.placed
                matches.append(Match("LAYERING", placed["userId"], placed["symbol"], placed["exchange"], evidence))
    return matches


def excessive_cancels(records: Iterable[Record]) -> list[Match]:
    """EXCESSIVE_CANCELS at every order event where either condition holds over the window ending there
    (the file is in event-time order); the evidence is that window's order events."""
    book = _Book(records)
    matches = []
    for user, events in book.order_events.items():
        counts: defaultdict[str, int] = defaultdict(int)
        first = first_in_minute = 0
        for end, event in enumerate(events):
            now = event["timestamp"]
            counts[event["eventType"]] += 1
            while events[first]["timestamp"] < now - CANCELS_WINDOW_MS:
                counts[events[first]["eventType"]] -= 1
                first += 1
            while events[first_in_minute]["timestamp"] < now - STUFFING_WINDOW_MS:
                first_in_minute += 1
            fills = counts["FILL"]
            ratio = counts["NEW"] >= CANCELS_MIN_ORDERS and fills >= 1 and counts["CANCEL"] >= CANCELS_PER_FILL * fills
            stuffing = end + 1 - first_in_minute > STUFFING_MAX_EVENTS
            if ratio or stuffing:
                window = events[first if ratio else first_in_minute : end + 1]
                matches.append(Match("EXCESSIVE_CANCELS", user, None, None, frozenset(e["eventId"] for e in window)))
    return matches


def _cancel_time(order: _Order) -> int:
    cancel = order.cancelled_unfilled
    assert cancel is not None
    return cancel["timestamp"]
