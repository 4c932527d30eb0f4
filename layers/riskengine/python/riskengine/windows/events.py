"""The compact encoding of a trade inside a window (a sorted-set member).

The member carries exactly what the detectors and the scorer read, so a batch never has
to fetch whole trades. It starts with the event time (also the score, so reading a window needs
no scores, and the script finds it with a prefix match), then the record's arrival key
(partition and offset, fixed width): Redis orders equal scores by member, so trades with the same
event time are ordered by arrival, never by trade id. A redelivered record encodes to the same
member, which makes ZADD idempotent. The script adds each placed trade's notional to the market's
volume buckets in whole cents (``notional_cents``, computed the same way in Lua), so sums are
integers and never depend on the order they were added in.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from riskengine.model import Trade

SEPARATOR = "\x1f"  # between the fields of one member
RECORD_SEPARATOR = "\x1e"  # between members, when a window travels as one string


class WindowEvent(NamedTuple):
    timestamp: int
    trade_id: str
    user_id: str
    side: str
    quantity: float
    price: float
    notional: float
    arrival: str = ""
    cents: int = 0

    @property
    def order(self) -> tuple[int, str]:
        """Where the event sits in its window: event time, then arrival."""
        return self.timestamp, self.arrival


def notional_cents(notional: float) -> int:
    """The notional in whole US cents, rounded half up exactly as ``apply_batch.lua`` does it (the same
    double operations). Validation bounds notionals, so sums fit Redis' 64-bit integers."""
    return math.floor(notional * 100 + 0.5)


def encode_member(trade: Trade) -> str:
    return SEPARATOR.join(
        (
            str(trade.timestamp),
            trade.arrival,
            trade.trade_id,
            trade.user_id,
            trade.side.value,
            repr(trade.quantity),
            repr(trade.price),
            repr(trade.notional),
        )
    )


def decode_member(member: str) -> WindowEvent:
    timestamp, arrival, trade_id, user_id, side, quantity, price, notional = member.split(SEPARATOR)
    value = float(notional)
    return WindowEvent(
        int(timestamp), trade_id, user_id, side, float(quantity), float(price), value, arrival, notional_cents(value)
    )


class WindowDecoder:
    """Decodes window contents, remembering recent members.

    A window's history comes back with every batch that touches it, and a member's text
    never changes, so a warm container decodes each event about once. The memory is
    bounded: past ``capacity`` members it starts afresh.
    """

    def __init__(self, capacity: int = 500_000) -> None:
        self._capacity = capacity
        self._known: dict[str, WindowEvent] = {}

    def __call__(self, blob: str) -> list[WindowEvent]:
        """A window's members, as the script returns them (one string, window order)."""
        if not blob:
            return []
        known = self._known
        if len(known) > self._capacity:
            known.clear()
        events = []
        for member in blob.split(RECORD_SEPARATOR):
            event = known.get(member)
            if event is None:
                event = known[member] = decode_member(member)
            events.append(event)
        return events
