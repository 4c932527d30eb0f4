"""Planned orders and their events: what a planner builds, before anything is emitted.

Quantities are whole lots of the symbol's quantity precision, so cumulative fills and open
quantities add up exactly; prices are rounded to the symbol's price precision when an order is
placed or amended. A :class:`Session` is one planner's output (an injected episode or a piece of
honest activity); it checks that every event fits its order's state, so a planner bug fails loudly
instead of writing an order that fills after its cancel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from riskengine.simulation.config import SYMBOLS
from riskengine.simulation.scenarios import BUY

NEW = "NEW"
AMEND = "AMEND"
CANCEL = "CANCEL"
PARTIAL_FILL = "PARTIAL_FILL"
FILL = "FILL"


def lots_of(symbol: int, notional_usd: float, price: float) -> int:
    """Whole lots (at least one) of ``SYMBOLS[symbol]`` worth about ``notional_usd`` at ``price``."""
    return max(1, round(notional_usd / price * 10 ** SYMBOLS[symbol].quantity_decimals))


def behind(price: float, side: str, distance: float) -> float:
    """A limit price ``distance`` (a fraction) behind the market: below it to buy, above it to sell."""
    return price * (1 - distance) if side == BUY else price * (1 + distance)


def quantity_of(symbol: int, lots: int) -> float:
    """Lots as the quantity a record carries (int / power of ten: the decimal's nearest double)."""
    return lots / 10 ** SYMBOLS[symbol].quantity_decimals


def usd(symbol: int, lots: int, price: float) -> float:
    """Notional of ``lots`` at ``price`` in USD, rounded to cents as records carry it (quotes are USDT)."""
    return round(quantity_of(symbol, lots) * price, 2)


@dataclass(eq=False, slots=True)
class Order:
    """One order while it is planned; its id is given when its session is committed."""

    user: int
    symbol: int
    exchange: int
    side: str
    order_type: str
    price: float
    lots: int  # open
    placed_notional: float
    filled: int = 0
    closed: bool = False
    order_id: str = ""

    @property
    def venue(self) -> tuple[int, int]:
        return self.symbol, self.exchange


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """One order event as planned: the order's state after it, and for a fill the fill's own size."""

    at_ms: float
    order: Order
    event_type: str
    price: float
    open_lots: int
    filled_lots: int
    fill_lots: int = 0

    @property
    def is_fill(self) -> bool:
        return self.fill_lots > 0


@dataclass(slots=True, eq=False)
class Session:
    """The orders of one episode or one piece of honest activity, in the order they were planned.

    ``pattern`` is the alert pattern an injected episode is labelled with (None for honest
    activity); ``kind`` names the planner that built it; its traders do nothing else for
    ``quiet_after_ms`` after its last event.
    """

    kind: str
    pattern: str | None = None
    quiet_after_ms: float = 0.0
    events: list[PlannedEvent] = field(default_factory=list)

    def place(
        self, at_ms: float, user: int, venue: tuple[int, int], side: str, order_type: str, price: float, lots: int
    ) -> Order:
        symbol, exchange = venue
        if lots <= 0:
            raise ValueError(f"an order needs a positive quantity, got {lots} lots")
        price = round(price, SYMBOLS[symbol].price_decimals)
        order = Order(user, symbol, exchange, side, order_type, price, lots, usd(symbol, lots, price))
        self._add(at_ms, order, NEW)
        return order

    def amend(self, order: Order, at_ms: float, price: float) -> None:
        self._check_open(order, AMEND)
        order.price = round(price, SYMBOLS[order.symbol].price_decimals)
        self._add(at_ms, order, AMEND)

    def fill(self, order: Order, at_ms: float, lots: int | None = None) -> None:
        """Fill ``lots`` of the order (all that is open when None) at its price."""
        self._check_open(order, FILL)
        lots = order.lots if lots is None else lots
        if not 0 < lots <= order.lots:
            raise ValueError(f"a fill of {lots} lots does not fit an order with {order.lots} open")
        order.lots -= lots
        order.filled += lots
        order.closed = order.lots == 0
        self._add(at_ms, order, FILL if order.closed else PARTIAL_FILL, fill_lots=lots)

    def cancel(self, order: Order, at_ms: float) -> None:
        self._check_open(order, CANCEL)
        order.lots = 0
        order.closed = True
        self._add(at_ms, order, CANCEL)

    def ordered(self) -> list[PlannedEvent]:
        """The events in event-time order (planning order among equal times)."""
        return sorted(self.events, key=lambda event: event.at_ms)

    @property
    def start_ms(self) -> float:
        return min(event.at_ms for event in self.events)

    @property
    def end_ms(self) -> float:
        return max(event.at_ms for event in self.events)

    @property
    def users(self) -> list[int]:
        return list(dict.fromkeys(event.order.user for event in self.events))

    def fills_of(self, user: int) -> list[PlannedEvent]:
        return sorted((e for e in self.events if e.is_fill and e.order.user == user), key=lambda e: e.at_ms)

    def _check_open(self, order: Order, action: str) -> None:
        if order.closed:
            raise ValueError(f"cannot {action} order of user {order.user}: it is already filled or cancelled")

    def _add(self, at_ms: float, order: Order, event_type: str, fill_lots: int = 0) -> None:
        event = PlannedEvent(at_ms, order, event_type, order.price, order.lots, order.filled, fill_lots)
        self.events.append(event)
