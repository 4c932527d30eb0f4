"""The compact encoding of a trade inside a window (a sorted-set member).

The member carries exactly what the detectors and the scorer read, so a batch never has
to fetch whole trades. The trade id comes first: equal timestamps order by trade id, and
a redelivered trade encodes to the same member, which makes ZADD idempotent. The event
time is in the member too (it is also the score), so reading a window needs no scores.
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


def encode_member(trade: Trade) -> str:
    return SEPARATOR.join(
        (
            trade.trade_id,
            str(trade.timestamp),
            trade.user_id,
            trade.side.value,
            repr(trade.quantity),
            repr(trade.price),
            repr(trade.notional),
        )
    )


def decode_member(member: str) -> WindowEvent:
    trade_id, timestamp, user_id, side, quantity, price, notional = member.split(SEPARATOR)
    return _make((int(timestamp), trade_id, user_id, side, float(quantity), float(price), float(notional)))


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
        """A window's members, as the script returns them (one string, event-time order)."""
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


_make = WindowEvent._make
