"""Releases the order flow's planned events into the stream in event time, each trader's in order.

Everything a planner schedules is known in advance, except one thing: the trade flow's sells on a
venue. FLASH_CRASH flags 10 sells in a row on a market; the trade flow keeps its own runs at six, so
a fill that sells waits while the order flow already sold MAX_FLOW_SELLS times on that venue since
anyone last bought there. Its trader's later events wait behind it, so each trader's events keep
their planned order (a wait is rarely more than a second: buyers come several times a second).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict, deque
from collections.abc import Iterator

from riskengine.simulation.scenarios import BUY
from riskengine_tools.simulate.orders import PlannedEvent, Session

MAX_FLOW_SELLS = 2


class EmissionQueue:
    def __init__(self) -> None:
        self._pending: dict[int, deque[tuple[PlannedEvent, Session]]] = defaultdict(deque)
        self._last_ms: dict[int, float] = defaultdict(float)
        self._heap: list[tuple[float, int, int]] = []  # (release time of the trader's next event, seq, trader)
        self._seq = itertools.count()
        self._flow_sells: dict[tuple[int, int], int] = defaultdict(int)
        self._waiting: dict[tuple[int, int], list[int]] = defaultdict(list)

    def add(self, session: Session) -> None:
        """Queue a committed session's events (after whatever its traders still have queued)."""
        for event in session.ordered():
            user = event.order.user
            queue = self._pending[user]
            queue.append((event, session))
            if len(queue) == 1:
                self._push(user, self._last_ms[user])

    def release_until(self, now_ms: float) -> Iterator[tuple[PlannedEvent, Session, float]]:
        """The events due at or before ``now_ms``: each with its session and its event time."""
        return self._release(now_ms, hold_sells=True)

    def observe_trade(self, venue: tuple[int, int], side: str, at_ms: float) -> None:
        """The trade flow wrote a trade on ``venue``: a buy lets the sells waiting there go."""
        if side == BUY:
            self._flow_sells[venue] = 0
            for user in self._waiting.pop(venue, []):
                self._push(user, at_ms)

    def flush(self) -> Iterator[tuple[PlannedEvent, Session, float]]:
        """Everything still queued, waiting sells included: the stream has ended."""
        for venue in list(self._waiting):
            for user in self._waiting.pop(venue):
                self._push(user, self._last_ms[user])
        return self._release(float("inf"), hold_sells=False)

    def _release(self, now_ms: float, *, hold_sells: bool) -> Iterator[tuple[PlannedEvent, Session, float]]:
        while self._heap and self._heap[0][0] <= now_ms:
            at_ms, _, user = heapq.heappop(self._heap)
            event, session = self._pending[user][0]
            venue, side = event.order.venue, event.order.side
            if hold_sells and event.is_fill and side != BUY and self._flow_sells[venue] >= MAX_FLOW_SELLS:
                self._waiting[venue].append(user)
                continue
            self._pending[user].popleft()
            self._last_ms[user] = at_ms
            if self._pending[user]:
                self._push(user, at_ms)
            if event.is_fill and side == BUY:
                self.observe_trade(venue, side, at_ms)
            elif event.is_fill:
                self._flow_sells[venue] += 1
            yield event, session, at_ms

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._pending.values())

    def _push(self, user: int, not_before_ms: float) -> None:
        event, _ = self._pending[user][0]
        heapq.heappush(self._heap, (max(event.at_ms, not_before_ms), next(self._seq), user))
