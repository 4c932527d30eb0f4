"""A window as it was when each trade of a batch arrived.

The engine's reference semantics is one trade at a time, in arrival order: each trade is placed in
its windows and judged on what had arrived before it. A batch reproduces that exactly. The store
applies a part of the batch in one script call and returns each window as it is after the whole
part; :class:`ArrivalView` takes out the part's trades that have not arrived yet and puts them
back one by one, in arrival order, so every trade sees its windows exactly as a batch of one would
have shown them, however the stream was cut into batches and parts.

Only trades evaluated in this batch are held back. Events of earlier batches (including the first
copies of redelivered trades) count as arrived. A window usually holds one trade of the part, its
newest event; the view finds the held-back events by event time without looking at the history.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence, Set
from itertools import repeat

from riskengine.windows.events import WindowEvent
from riskengine.windows.store import WindowState


class ArrivalView:
    """One window of one part, replayed arrival by arrival."""

    __slots__ = ("_incoming", "buckets", "events", "state")

    def __init__(self, state: WindowState, not_arrived: Set[str], earliest: int) -> None:
        """``not_arrived``: the batch's trades not arrived when the part begins (its own and later
        parts'); ``earliest``: the lowest event time among them, before which none can sit."""
        self.state = state
        events = state.events
        start = len(events)
        while start and events[start - 1].timestamp >= earliest:  # usually one step: the newest event
            start -= 1
        self.events: list[WindowEvent] = events[:start]
        self._incoming: dict[str, WindowEvent] = {}
        for event in state.events[start:]:
            if event.event_id in not_arrived:
                self._incoming[event.event_id] = event
            else:
                self.events.append(event)
        self.buckets = state.volume_buckets  # empty but for market windows, which get a copy to change
        if state.spec.volume_bucket_ms:
            self.buckets = dict(self.buckets)
            for event in self._incoming.values():  # counted in the buckets, but not arrived yet
                self._add(event, -event.cents)

    def arrive(self, event_id: str) -> int:
        """Put the trade's event in the window; returns its position."""
        event = self._incoming.pop(event_id)
        events = self.events
        last = events[-1] if events else None
        if last is None or (last.timestamp, last.arrival) < (event.timestamp, event.arrival):
            position = len(events)  # the usual case: the newest event of its window
            events.append(event)
        else:
            position = bisect_right(events, event.order, key=_order)
            events.insert(position, event)
        if self.state.spec.volume_bucket_ms:
            self._add(event, event.cents)
        return position

    def before(self, position: int, count: int) -> Sequence[WindowEvent]:
        """Up to ``count`` events just before ``position``."""
        return self.events[max(0, position - count) : position]

    def volume_cents(self, buckets: range) -> int:
        """The notional (cents) the window's volume buckets hold over ``buckets``, as of now."""
        return sum(map(self.buckets.get, buckets, repeat(0)))

    def _add(self, event: WindowEvent, cents: int) -> None:
        bucket = event.timestamp // self.state.spec.volume_bucket_ms
        self.buckets[bucket] = self.buckets.get(bucket, 0) + cents


def _order(event: WindowEvent) -> tuple[int, str]:
    return event.timestamp, event.arrival
