"""The compact encoding of a trade inside a window (a sorted-set member).

The member carries exactly what the detectors and the scorer read, so a batch never has
to fetch whole trades. The trade id comes first: equal timestamps order by trade id, and
a redelivered trade encodes to the same member, which makes ZADD idempotent.
"""

from __future__ import annotations

from typing import NamedTuple

from riskengine.model import Trade

SEPARATOR = "\x1f"


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
        (trade.trade_id, trade.user_id, trade.side.value, repr(trade.quantity), repr(trade.price), repr(trade.notional))
    )


def decode_member(member: str, score: float) -> WindowEvent:
    trade_id, user_id, side, quantity, price, notional = member.split(SEPARATOR)
    return WindowEvent(int(score), trade_id, user_id, side, float(quantity), float(price), float(notional))
