"""The order flow's traders: who they are, the part they play, and what they did lately.

They are accounts of their own, numbered after the trade simulator's, so the trade flow's guards and
episodes never meet the order flow's. What is remembered of each is what a planner needs to keep
honest activity honest: when they were last busy, how many orders they placed lately, the sizes of
their previous orders (SPOOFING's median) and their recent trades (the spine's rules).
"""

from __future__ import annotations

import math
import random
import statistics
from bisect import bisect
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from riskengine.simulation import UserBook
from riskengine_tools.simulate.orders import CANCEL, FILL, NEW, Session, quantity_of, usd
from riskengine_tools.simulate.rules import CANCELS_WINDOW_MS, SPOOF_HISTORY, SPOOF_MIN_HISTORY
from riskengine_tools.simulate.spine import TradeFact

# Honest traders other than market makers place at most this many orders in any CANCELS_WINDOW_MS
# (EXCESSIVE_CANCELS looks at 20 or more), however many they cancel.
MAX_HONEST_ORDERS = 12
RECENT_TRADES = 32
PICK_ATTEMPTS = 16
# Activity is only a weight between traders here, never a rate cap.
ACTIVITY_RATE = 1.0


class Role(StrEnum):
    MARKET_MAKER = "market maker"
    WHALE = "whale"
    RETAIL = "retail"


@dataclass(slots=True)
class Trader:
    """One account of the order flow and its recent history (planned events, in event time)."""

    role: Role
    size_usd: float  # a market maker's quote size; the others' sizes scale with it (retail: 1.0)
    busy_until: float = -math.inf  # end of their latest planned activity
    quiet_until: float = -math.inf  # no activity at all before this
    last_event_ms: float = -math.inf
    last_placed_ms: float = -math.inf
    placed: deque[float] = field(default_factory=deque)  # NEW times within the last CANCELS_WINDOW_MS
    notionals: deque[float] = field(default_factory=lambda: deque(maxlen=SPOOF_HISTORY))
    market_notionals: dict[tuple[int, int], deque[float]] = field(default_factory=dict)
    trades: deque[TradeFact] = field(default_factory=lambda: deque(maxlen=RECENT_TRADES))
    terminals: deque[str] = field(default_factory=lambda: deque(maxlen=2))  # the last FILLs and CANCELs

    def placed_since(self, since_ms: float) -> int:
        return sum(at >= since_ms for at in self.placed)

    def medians(self, venue: tuple[int, int], at_least: int = SPOOF_MIN_HISTORY) -> list[float]:
        """Median NEW notional of the previous orders, overall and on ``venue``, where there are
        ``at_least`` of them (by default where SPOOFING would use one): whichever way the rule reads
        "previous orders", sizes follow it."""
        histories = (self.notionals, self.market_notionals.get(venue, ()))
        return [statistics.median(h) for h in histories if len(h) >= max(1, at_least)]


class Population:
    """The order flow's traders: market makers first, then whales, then retail traders."""

    def __init__(self, rng: random.Random, count: int, first: int, market_makers: int, whales: int) -> None:
        if count < market_makers + whales + 1:
            raise ValueError(
                f"{count} order-flow traders cannot hold {market_makers} market makers and {whales} whales"
            )
        self.book = UserBook.build(rng, count, ACTIVITY_RATE, first)
        self.traders = [Trader(Role.MARKET_MAKER, rng.uniform(3_000.0, 30_000.0)) for _ in range(market_makers)] + [
            Trader(Role.WHALE, rng.uniform(4.0, 10.0)) for _ in range(whales)
        ]
        self.traders += [Trader(Role.RETAIL, 1.0) for _ in range(count - len(self.traders))]
        self._by_role = {role: [u for u, t in enumerate(self.traders) if t.role is role] for role in Role}

    def pick(
        self,
        rng: random.Random,
        roles: Collection[Role],
        now_ms: float,
        *,
        idle_ms: float,
        orders: int,
        quiet_ms: float | None = None,
        exclude: Collection[int] = (),
        anyone: bool = True,
    ) -> int | None:
        """A trader in one of ``roles``, idle for ``idle_ms``, who may place ``orders`` more orders (and
        has had no order event for ``quiet_ms``, when given); busier traders (by activity) come up
        more often. Unless ``anyone``, a trader who never placed an order is only picked by activity:
        ordinary activity then leaves the least active traders quiet for the EXCESSIVE_CANCELS
        episodes, which need traders quiet for half an hour. None when nobody fits."""

        def fits(user: int) -> bool:
            trader = self.traders[user]
            if user in exclude or trader.role not in roles or trader.quiet_until > now_ms:
                return False
            if trader.busy_until + idle_ms > now_ms:
                return False
            if quiet_ms is not None and trader.last_event_ms > now_ms - quiet_ms:
                return False
            return trader.role is Role.MARKET_MAKER or (
                trader.placed_since(now_ms - CANCELS_WINDOW_MS) + orders <= MAX_HONEST_ORDERS
            )

        activity = self.book.activity
        for _ in range(PICK_ATTEMPTS):
            user = bisect(activity, rng.random() * activity[-1], 0, len(activity) - 1)
            if fits(user):
                return user
        candidates = [
            user
            for role in roles
            for user in self._by_role[role]
            if anyone or self.traders[user].last_event_ms > -math.inf
        ]
        start = rng.randrange(len(candidates)) if candidates else 0
        for offset in range(len(candidates)):
            user = candidates[(start + offset) % len(candidates)]
            if fits(user):
                return user
        return None

    def commit(self, session: Session) -> None:
        """Remember a session's events as its traders' history (they come after everything before)."""
        for event in session.ordered():
            order = event.order
            trader = self.traders[order.user]
            trader.last_event_ms = max(trader.last_event_ms, event.at_ms)
            if event.event_type == NEW:
                notional = usd(order.symbol, event.open_lots, event.price)
                trader.placed.append(event.at_ms)
                trader.last_placed_ms = event.at_ms
                trader.notionals.append(notional)
                history = trader.market_notionals.setdefault(order.venue, deque(maxlen=SPOOF_HISTORY))
                history.append(notional)
            if event.is_fill:
                quantity = quantity_of(order.symbol, event.fill_lots)
                notional = usd(order.symbol, event.fill_lots, event.price)
                trader.trades.append(TradeFact(event.at_ms, order.symbol, order.side, quantity, notional))
            if event.event_type in (FILL, CANCEL):
                trader.terminals.append(event.event_type)
        end = session.end_ms
        for user in session.users:
            trader = self.traders[user]
            trader.busy_until = max(trader.busy_until, end)
            trader.quiet_until = max(trader.quiet_until, end + session.quiet_after_ms)
            while trader.placed and trader.placed[0] < end - CANCELS_WINDOW_MS:
                trader.placed.popleft()
