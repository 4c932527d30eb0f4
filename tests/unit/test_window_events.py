"""Window members of trades and order events: what is encoded decodes to the event built directly, and
members sort in Redis (by bytes) as the engine orders events (event time, then arrival key)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from riskengine.model import ORDER_ARRIVAL_SUFFIX, EventType, OrderEvent, OrderType, Side, Trade, arrival_key
from riskengine.windows.events import decode_member, encode_member, event_of
from riskengine.windows.spec import Scope

IDS = st.text(st.characters(codec="ascii", exclude_characters="\x1e\x1f"), min_size=1, max_size=12)
AMOUNTS = st.floats(min_value=1e-8, max_value=1e9, allow_nan=False)
TIMES = st.integers(min_value=0, max_value=2**52)
ARRIVALS = st.builds(arrival_key, st.integers(0, 4), st.integers(0, 10_000))


def _trade(trade_id: str, at: int, arrival: str, quantity: float = 1.0, price: float = 10.0) -> Trade:
    return Trade(
        trade_id, "U1", "C1", "BTC/USDT", Side.BUY, quantity, price, quantity * price, at, "X", None, None, {}, arrival
    )


def _order(
    event_id: str, at: int, arrival: str, event_type: EventType = EventType.CANCEL, filled: float = 0.0
) -> OrderEvent:
    return OrderEvent(
        event_id, "O1", "U1", "C1", "BTC/USDT", Side.SELL, OrderType.LIMIT, event_type,
        10.0, 2.0, filled, 20.0, at, "X", None, {}, arrival + ORDER_ARRIVAL_SUFFIX,
    )  # fmt: skip


@given(IDS, TIMES, ARRIVALS, AMOUNTS, AMOUNTS)
def test_a_trade_member_decodes_to_its_event(
    trade_id: str, at: int, arrival: str, quantity: float, price: float
) -> None:
    trade = _trade(trade_id, at, arrival, quantity, price)
    event = decode_member(encode_member(trade))
    assert event == event_of(trade) and event.is_trade and event.event_id == trade_id


@given(IDS, TIMES, ARRIVALS, st.sampled_from(list(EventType)), st.floats(0, 1e6))
def test_an_order_member_decodes_to_its_event(
    event_id: str, at: int, arrival: str, kind: EventType, filled: float
) -> None:
    order = _order(event_id, at, arrival, kind, filled)
    event = decode_member(encode_member(order))
    assert event == event_of(order) and not event.is_trade
    assert (event.order_id, event.event_type, event.filled_quantity) == ("O1", kind.value, filled)


@given(st.lists(st.tuples(st.booleans(), TIMES, ARRIVALS, IDS), min_size=2, max_size=12))
def test_members_sort_by_bytes_as_events_sort_by_time_then_arrival(items: list[tuple[bool, int, str, str]]) -> None:
    """Redis orders equal scores by member bytes: that order must be the engine's (event time, arrival
    key), also between a trade and an order event read from the same partition and offset of two topics."""
    events = [_order(i, at, arr) if is_order else _trade(i, at, arr) for is_order, at, arr, i in items]
    distinct = {(e.timestamp, e.arrival) for e in events}
    if len(distinct) < len(events):
        return  # two records at one position of one topic cannot exist
    by_redis = sorted(events, key=lambda e: (e.timestamp, encode_member(e).encode()))
    by_engine = sorted(events, key=lambda e: event_of(e).order)
    assert by_redis == by_engine


def test_order_book_windows_hold_both_kinds_and_user_order_windows_order_events_only() -> None:
    trade, order = _trade("T1", 0, arrival_key(0, 1)), _order("E1", 0, arrival_key(0, 1))
    assert Scope.ORDER_BOOK.key(trade) == Scope.ORDER_BOOK.key(order) == "rk:v2:{u:U1}:ob:BTC/USDT@X"
    assert Scope.USER_ORDERS.key(order) == "rk:v2:{u:U1}:o"
    assert isinstance(trade, Scope.ORDER_BOOK.kinds) and isinstance(order, Scope.ORDER_BOOK.kinds)
    assert not isinstance(trade, Scope.USER_ORDERS.kinds) and not isinstance(order, Scope.USER.kinds)
