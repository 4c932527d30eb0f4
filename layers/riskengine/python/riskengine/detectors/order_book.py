"""What the order-book rules (SPOOFING, LAYERING, EXCESSIVE_CANCELS) read in an order event.

Order-book windows hold order events and the user's trades (``WindowEvent.is_trade``); an order
event's ``event_type`` is one of these names.
"""

from __future__ import annotations

from riskengine.windows.events import WindowEvent

NEW = "NEW"
CANCEL = "CANCEL"
FILL = "FILL"
FILLS = frozenset({"PARTIAL_FILL", FILL})


def is_unfilled_cancel(event: WindowEvent) -> bool:
    """A CANCEL of an order of which nothing was ever filled."""
    return event.event_type == CANCEL and event.filled_quantity == 0


def trades_against(event: WindowEvent, side: str) -> bool:
    """Whether ``event`` is the user trading on the other side of ``side``: a trade, or a fill of an
    order of theirs."""
    return event.side != side and (event.is_trade or event.event_type in FILLS)
