"""The compact encoding of a trade inside a window (a sorted-set member).

The member carries exactly what the detectors and the scorer read, so a batch never has
to fetch whole trades. It starts with the record's arrival key (partition and offset, fixed
width): Redis orders equal scores by member, so trades with the same event time are ordered
by arrival, never by trade id. A redelivered record encodes to the same member, which makes
ZADD idempotent. The event time is in the member too (it is also the score), so reading a
window needs no scores, and so is the notional in whole cents, which the script adds to the
market's volume buckets with integer arithmetic (exact, so sums never depend on their order).
"""

from __future__ import annotations

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
    """The notional in whole US cents (validation bounds notionals, so this fits Redis' 64-bit integers)."""
    return round(notional * 100)


def encode_member(trade: Trade) -> str:
    return SEPARATOR.join(
        (
            trade.arrival,
            trade.trade_id,
            str(trade.timestamp),
            trade.user_id,
            trade.side.value,
            repr(trade.quantity),
            repr(trade.price),
            repr(trade.notional),
            str(notional_cents(trade.notional)),
        )
    )


def decode_member(member: str) -> WindowEvent:
    arrival, trade_id, timestamp, user_id, side, quantity, price, notional, cents = member.split(SEPARATOR)
    return WindowEvent(
        int(timestamp), trade_id, user_id, side, float(quantity), float(price), float(notional), arrival, int(cents)
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
