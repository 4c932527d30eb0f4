"""Order-book events for the order-book rules' tests: hand-written lives of orders, and random flows.

The hand-written helpers build the ``WindowEvent``s of one user in one market, named so that a test
reads like the story it tells (``new(0, "B", notional=150_000)``, ``trade(5_000, "t1", "SELL")``).
``random_flow`` writes mixed-stream records (as ``riskengine simulate`` does and the reference
checkers in orderbook_reference.py read) of valid order lives; ``windows`` puts them in the windows
of a scope, as the engine does.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskengine.detectors.base import Match, SequenceRule
from riskengine.windows.events import WindowEvent
from riskengine.windows.spec import Scope

USER = "U1"
Record = dict[str, Any]


def order_event(
    at: int,
    order: str,
    event_type: str,
    side: str = "BUY",
    notional: float = 1_000.0,
    price: float = 100.0,
    filled: float = 0.0,
    event_id: str | None = None,
) -> WindowEvent:
    """An order event; its id is ``ORDER.type`` (``B.new``, ``B.cancel``) unless given."""
    return WindowEvent(
        timestamp=at,
        event_id=event_id or f"{order}.{event_type.lower()}",
        user_id=USER,
        side=side,
        quantity=notional / price,
        price=price,
        notional=notional,
        order_id=order,
        event_type=event_type,
        filled_quantity=filled,
    )


def new(at: int, order: str, side: str = "BUY", notional: float = 1_000.0, price: float = 100.0) -> WindowEvent:
    return order_event(at, order, "NEW", side, notional, price)


def cancel(at: int, order: str, side: str = "BUY", price: float = 100.0, filled: float = 0.0) -> WindowEvent:
    """A CANCEL: nothing open is left (notional 0); ``filled`` is what was filled before it."""
    return order_event(at, order, "CANCEL", side, 0.0, price, filled)


def trade(at: int, trade_id: str, side: str, notional: float = 500.0, price: float = 100.0) -> WindowEvent:
    """A trade of the user in the market (order-book windows carry no order id for trades)."""
    return WindowEvent(at, trade_id, USER, side, notional / price, price, notional)


def placed_and_cancelled(
    orders: int, at: int, gap_ms: int, notional: float, side: str = "BUY", prefix: str = "P"
) -> list[WindowEvent]:
    """``orders`` ordinary orders (``P0``, ``P1``...), each cancelled unfilled 1 ms after it was placed."""
    events = []
    for index in range(orders):
        start, order = at + index * gap_ms, f"{prefix}{index}"
        events += [new(start, order, side, notional), cancel(start + 1, order, side)]
    return events


# --- random flows of mixed-stream records -----------------------------------------------------------

MARKETS = (("BTC/USDT", "BINANCE"), ("ETH/USDT", "OKX"))
PRICES = (99.0, 99.5, 100.0, 100.5, 101.0, 101.5)
# Whole dollars: the reference checkers compare in floats, so sizes stay away from rounding.
NOTIONALS = (200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 100_000.0, 150_000.0)
ACTIONS = ("place", "cancel", "part", "fill", "amend", "trade")


@dataclass
class _Open:
    order_id: str
    user: str
    market: tuple[str, str]
    side: str
    price: float
    quantity: float
    placed_notional: float  # a whole-dollar size from NOTIONALS, not quantity x price rounded
    filled: float = 0.0


@dataclass(frozen=True)
class Tempo:
    """How a random flow moves: milliseconds between records and how often each action is taken."""

    gap_ms: tuple[int, int]
    weights: Mapping[str, int]


TEMPOS = (
    Tempo((1, 2_000), {"place": 6, "cancel": 5, "part": 1, "fill": 1, "amend": 1, "trade": 2}),  # spoofs, layers
    Tempo((1, 1_500), {"place": 6, "cancel": 6, "part": 0, "fill": 1, "amend": 2, "trade": 0}),  # stuffing, cancels
    Tempo((1, 40_000), {"place": 5, "cancel": 5, "part": 1, "fill": 1, "amend": 0, "trade": 1}),  # ratios, no stuffing
)


def random_flow(
    rng: random.Random, steps: int, tempo: Tempo, users: Sequence[str] = (USER,), markets: int = 1
) -> list[Record]:
    """``steps`` actions of valid order lives (NEW, AMENDs, fills, a cancel of what is left) and
    trades of ``users`` in the first ``markets`` markets, one record per millisecond at most (no ties
    in event time), each fill followed by its trade."""
    records: list[Record] = []
    open_orders: list[_Open] = []
    at, placed = 1_700_000_000_000, 0
    weights = [tempo.weights[action] for action in ACTIONS]
    for _ in range(steps):
        at += rng.randint(*tempo.gap_ms)
        action = rng.choices(ACTIONS, weights)[0]
        if action != "place" and action != "trade" and not open_orders:
            action = "place"
        if action == "place":
            market = MARKETS[rng.randrange(markets)]
            price, notional = rng.choice(PRICES), rng.choice(NOTIONALS)
            side = rng.choice(("BUY", "SELL"))
            order = _Open(f"o{placed}", rng.choice(users), market, side, price, notional / price, notional)
            placed += 1
            open_orders.append(order)
            records.append(_order_record(order, "NEW", at))
        elif action == "trade":
            user, market = rng.choice(users), MARKETS[rng.randrange(markets)]
            records.append(_trade_record(len(records), user, market, rng.choice(("BUY", "SELL")), 1.0, 100.0, at))
        else:
            order = open_orders[rng.randrange(len(open_orders))]
            records += _life_event(rng, order, action, at, len(records))
            at += 1
            if action in ("cancel", "fill"):
                open_orders.remove(order)
    return records


def _life_event(rng: random.Random, order: _Open, action: str, at: int, count: int) -> list[Record]:
    if action == "cancel":
        return [_order_record(order, "CANCEL", at, open_quantity=0.0)]
    if action == "amend":  # a new price for what is left
        order.price = rng.choice(PRICES)
        return [_order_record(order, "AMEND", at)]
    open_quantity = order.quantity - order.filled
    part = open_quantity / 2 if action == "part" else open_quantity
    order.filled += part
    event = "PARTIAL_FILL" if action == "part" else "FILL"
    fill = _order_record(order, event, at, open_quantity=open_quantity - part)
    return [fill, _trade_record(count + 1, order.user, order.market, order.side, part, order.price, at + 1)]


def _order_record(order: _Open, event_type: str, at: int, open_quantity: float | None = None) -> Record:
    quantity = order.quantity - order.filled if open_quantity is None else open_quantity
    symbol, exchange = order.market
    return {
        "kind": "order",
        "eventId": f"{order.order_id}.{event_type.lower()}@{at}",
        "orderId": order.order_id,
        "userId": order.user,
        "symbol": symbol,
        "exchange": exchange,
        "side": order.side,
        "eventType": event_type,
        "price": order.price,
        "quantity": quantity,
        "filledQuantity": order.filled,
        "notional": order.placed_notional if event_type == "NEW" else quantity * order.price,
        "timestamp": at,
    }


def _trade_record(
    count: int, user: str, market: tuple[str, str], side: str, quantity: float, price: float, at: int
) -> Record:
    symbol, exchange = market
    return {
        "kind": "trade",
        "tradeId": f"t{count}@{at}",
        "userId": user,
        "symbol": symbol,
        "exchange": exchange,
        "side": side,
        "quantity": quantity,
        "price": price,
        "notional": quantity * price,
        "timestamp": at,
    }


def window_event(record: Record, arrival: int) -> WindowEvent:
    """The window event the engine makes of a mixed-stream record."""
    if record.get("kind") == "order":
        return WindowEvent(
            record["timestamp"],
            record["eventId"],
            record["userId"],
            record["side"],
            record["quantity"],
            record["price"],
            record["notional"],
            f"{arrival:012d}",
            0,
            record["orderId"],
            record["eventType"],
            record["filledQuantity"],
        )
    return WindowEvent(
        record["timestamp"],
        record["tradeId"],
        record["userId"],
        record["side"],
        record["quantity"],
        record["price"],
        record["notional"],
        f"{arrival:012d}",
    )


def windows(records: Iterable[Record], scope: Scope) -> dict[tuple[str, ...], list[WindowEvent]]:
    """The scope's windows of an event-time-ordered stream: a user's market (order events and trades)
    for ORDER_BOOK, a user's order events for USER_ORDERS."""
    found: defaultdict[tuple[str, ...], list[WindowEvent]] = defaultdict(list)
    for arrival, record in enumerate(records):
        if scope is Scope.ORDER_BOOK:
            found[record["userId"], record["symbol"], record["exchange"]].append(window_event(record, arrival))
        elif record.get("kind") == "order":
            found[(record["userId"],)].append(window_event(record, arrival))
    return dict(found)


def matches(rule: SequenceRule, events: Sequence[WindowEvent]) -> dict[int, Match]:
    """The rule's match at every position of a window that has one."""
    return {end: match for end in range(len(events)) if (match := rule.check(events, end)) is not None}
