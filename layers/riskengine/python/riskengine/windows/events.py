"""The compact encoding of a trade or an order event inside a window (a sorted-set member).

The member carries exactly what the detectors and the scorer read, so a batch never has
to fetch whole trades. It starts with the event time (also the score, so reading a window needs
no scores, and the script finds it with a prefix match), then the record's arrival key
(partition and offset, fixed width): Redis orders equal scores by member, so trades with the same
event time are ordered by arrival, never by trade id. A redelivered record encodes to the same
member, which makes ZADD idempotent. An order event's member adds its order id, event type and
filled quantity after the trade's fields (order-book windows hold both kinds; see
docs/decisions/0001-order-events.md). The script adds each placed trade's notional to the market's
volume buckets in whole cents (``notional_cents``, computed the same way in Lua), so sums are
integers and never depend on the order they were added in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from riskengine.model import OrderEvent, Trade

SEPARATOR = "\x1f"  # between the fields of one member
RECORD_SEPARATOR = "\x1e"  # between members, when a window travels as one string


class WindowEvent(NamedTuple):
    """A trade (``event_type`` empty) or an order event, as the rules see it in a window.

    ``event_id`` is the trade id or the order event's eventId. For an order event ``quantity`` is
    the order's open quantity after it, ``notional`` that quantity's USD value and
    ``filled_quantity`` the order's cumulative filled quantity.
    """

    timestamp: int
    event_id: str
    user_id: str
    side: str
    quantity: float
    price: float
    notional: float
    arrival: str = ""
    cents: int = 0
    order_id: str = ""
    event_type: str = ""
    filled_quantity: float = 0.0

    @property
    def is_trade(self) -> bool:
        return not self.event_type

    @property
    def order(self) -> tuple[int, str]:
        """Where the event sits in its window: event time, then arrival."""
        return self.timestamp, self.arrival


def notional_cents(notional: float) -> int:
    """The notional in whole US cents, rounded half up exactly as ``apply_batch.lua`` does it (the same
    double operations). Validation bounds notionals, so sums fit Redis' 64-bit integers."""
    return math.floor(notional * 100 + 0.5)


def encode_member(event: Trade | OrderEvent) -> str:
    fields = (
        str(event.timestamp),
        event.arrival,
        event.event_id,
        event.user_id,
        event.side.value,
        repr(event.quantity),
        repr(event.price),
        repr(event.notional),
    )
    if isinstance(event, OrderEvent):
        fields += (event.order_id, event.event_type.value, repr(event.filled_quantity))
    return SEPARATOR.join(fields)


def decode_member(member: str) -> WindowEvent:
    fields = member.split(SEPARATOR)
    timestamp, arrival, event_id, user_id, side, quantity, price, notional = fields[:8]
    value = float(notional)
    event = WindowEvent(
        int(timestamp), event_id, user_id, side, float(quantity), float(price), value, arrival, notional_cents(value)
    )
    if len(fields) == 11:  # an order event
        return event._replace(order_id=fields[8], event_type=fields[9], filled_quantity=float(fields[10]))
    return event


def event_of(event: Trade | OrderEvent) -> WindowEvent:
    """The event ``encode_member(event)`` decodes to, without encoding and decoding it."""
    window_event = WindowEvent(
        event.timestamp,
        event.event_id,
        event.user_id,
        event.side.value,
        event.quantity,
        event.price,
        event.notional,
        event.arrival,
        notional_cents(event.notional),
    )
    if isinstance(event, OrderEvent):
        return window_event._replace(
            order_id=event.order_id, event_type=event.event_type.value, filled_quantity=event.filled_quantity
        )
    return window_event


class WindowCopy(NamedTuple):
    """The events of a window a container last read, and their members (Redis' text of them)."""

    members: list[str]
    events: list[WindowEvent]

    @property
    def anchors(self) -> tuple[str, str, int, int | str]:
        """What the window script checks the copy by (first member, last member, how many) and the
        event time of its last but one event (the window's watermark when the copy ends it)."""
        if not self.members:
            return "", "", 0, ""
        watermark = self.events[-2].timestamp if len(self.events) > 1 else ""
        return self.members[0], self.members[-1], len(self.members), watermark

    def extended(self, members: list[str], events: list[WindowEvent]) -> WindowCopy:
        """The copy with these events placed among its own, in window order."""
        if not members:
            return self
        events, members = _in_window_order(events, members)
        if self.events and events[0].order < self.events[-1].order:  # not all after it: merge
            events, members = _in_window_order(self.events + events, self.members + members)
            return WindowCopy(members, events)
        return WindowCopy(self.members + members, self.events + events)


NO_COPY = WindowCopy([], [])


class WindowCopies:
    """The last events read from each window, so a script call returns only what is new.

    A window's history comes back with every part that touches it; members never change, so the
    script checks the copy (``apply_batch.lua``) and sends only the members after it. The memory is
    bounded: past ``capacity`` windows it starts afresh, and a window it no longer knows is sent
    whole.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._capacity = capacity
        self._copies: dict[str, WindowCopy] = {}

    def get(self, key: str) -> WindowCopy:
        return self._copies.get(key, NO_COPY)

    def read(
        self, key: str, copy: WindowCopy, blob: str, reused: int, known: Mapping[str, WindowEvent]
    ) -> list[WindowEvent]:
        """The window's events from a script reply: ``copy`` (what the call was sent with) from
        index ``reused`` on, then ``blob``'s members in window order (all of them when ``reused`` is
        -1), decoded unless ``known`` has them (the part's own trades)."""
        members = blob.split(RECORD_SEPARATOR) if blob else []
        events = [known.get(member) or decode_member(member) for member in members]
        if reused >= 0:
            events, members = _in_window_order(events, members)  # the part's own trades, in arrival order
            members = copy.members[reused:] + members
            events = copy.events[reused:] + events
        copies = self._copies
        if len(copies) >= self._capacity and key not in copies:
            copies.clear()
        copies[key] = WindowCopy(members, events)
        return events


def _in_window_order(events: list[WindowEvent], members: list[str]) -> tuple[list[WindowEvent], list[str]]:
    """Events and their members, sorted together into window order."""
    if len(events) < 2:
        return events, members
    pairs = sorted(zip(events, members, strict=True), key=_window_order)
    return [event for event, _ in pairs], [member for _, member in pairs]


def _window_order(pair: tuple[WindowEvent, str]) -> tuple[int, str]:
    """Redis' order of members: by score (event time), then by the member's bytes, which after the
    event time start with the arrival key (fixed width, unique per record)."""
    return pair[0].order
