"""The order flow's building blocks: orders and sessions, the spine guard, and the emission queue."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spine_reference import large_orders, rapid_bursts, volume_spikes, wash_round_trips

from riskengine.simulation.config import SYMBOLS
from riskengine_tools.simulate.emission import MAX_FLOW_SELLS, EmissionQueue
from riskengine_tools.simulate.orders import CANCEL, FILL, NEW, PARTIAL_FILL, Session, lots_of, quantity_of, usd
from riskengine_tools.simulate.spine import TradeFact, max_fill_notional, spine_safe

BTC, ADA = 0, 3
VENUE = (BTC, 0)
T0 = 1_763_900_000_000.0


# --- orders and sessions --------------------------------------------------------------------------


def test_a_session_records_each_event_with_the_orders_state_after_it() -> None:
    session = Session("retail")
    order = session.place(T0, 7, VENUE, "BUY", "LIMIT", 90_000.123456, lots_of(BTC, 9_000.0, 90_000.0))
    session.fill(order, T0 + 1_000, 40_000)
    session.amend(order, T0 + 2_000, 90_100.0)
    session.fill(order, T0 + 3_000)
    types = [(e.event_type, e.open_lots, e.filled_lots, e.fill_lots, e.price) for e in session.ordered()]
    assert types == [
        (NEW, 100_000, 0, 0, 90_000.12),
        (PARTIAL_FILL, 60_000, 40_000, 40_000, 90_000.12),
        ("AMEND", 60_000, 40_000, 0, 90_100.0),
        (FILL, 0, 100_000, 60_000, 90_100.0),
    ]
    assert order.placed_notional == usd(BTC, 100_000, 90_000.12) == 9_000.01
    assert (session.start_ms, session.end_ms, session.users) == (T0, T0 + 3_000, [7])


def test_a_closed_order_takes_no_more_events_and_fills_fit_what_is_open() -> None:
    session = Session("retail")
    order = session.place(T0, 1, VENUE, "SELL", "LIMIT", 90_000.0, 10)
    with pytest.raises(ValueError, match="does not fit"):
        session.fill(order, T0 + 1, 11)
    session.cancel(order, T0 + 2)
    assert session.events[-1].event_type == CANCEL and session.events[-1].open_lots == 0
    for action in (lambda: session.fill(order, T0 + 3), lambda: session.cancel(order, T0 + 3)):
        with pytest.raises(ValueError, match="already filled or cancelled"):
            action()
    with pytest.raises(ValueError, match="positive quantity"):
        session.place(T0, 1, VENUE, "BUY", "LIMIT", 90_000.0, 0)


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from(range(len(SYMBOLS))))
def test_lots_and_quantities_are_exact_decimals(lots: int, symbol: int) -> None:
    decimals = SYMBOLS[symbol].quantity_decimals
    assert quantity_of(symbol, lots) == float(f"{lots}e-{decimals}")


# --- the spine guard ------------------------------------------------------------------------------


def _trades(facts: list[TradeFact]) -> list[dict[str, Any]]:
    return [
        {
            "userId": "u",
            "symbol": SYMBOLS[f.symbol].symbol,
            "baseAsset": SYMBOLS[f.symbol].base,
            "side": f.side,
            "quantity": f.quantity,
            "notional": f.notional,
            "timestamp": int(f.at_ms),
        }
        for f in facts
    ]


def test_the_guard_refuses_what_would_complete_a_spine_pattern() -> None:
    buy, sell = TradeFact(T0, ADA, "BUY", 1_000.0, 750.0), TradeFact(T0 + 10_000, ADA, "SELL", 1_010.0, 757.5)
    assert not spine_safe([buy, sell], TradeFact(T0 + 20_000, ADA, "BUY", 1_005.0, 753.75))  # WASH_TRADING
    assert spine_safe([buy, sell], TradeFact(T0 + 20_000, ADA, "BUY", 1_300.0, 975.0))
    small, bigger = TradeFact(T0, BTC, "BUY", 0.02, 1_800.0), TradeFact(T0 + 5_000, BTC, "SELL", 0.03, 2_700.0)
    assert not spine_safe([small, bigger], TradeFact(T0 + 9_000, BTC, "BUY", 0.045, 4_050.0))  # VOLUME_SPIKE
    assert spine_safe([small, bigger], TradeFact(T0 + 9_000, BTC, "BUY", 0.03, 2_700.0))
    burst = [TradeFact(T0 + 500 * i, BTC, "BUY", 0.01, 900.0 + i) for i in range(14)]
    assert spine_safe(burst, TradeFact(T0 + 7_000, BTC, "BUY", 0.01, 900.0))
    assert not spine_safe([*burst, burst[-1]], TradeFact(T0 + 7_000, BTC, "BUY", 0.01, 900.0))  # RAPID_BURST
    assert not spine_safe([], TradeFact(T0, ADA, "BUY", 100_000.0, max_fill_notional(ADA) + 0.01))  # LARGE_ORDER


facts = st.builds(
    TradeFact,
    at_ms=st.floats(min_value=0.0, max_value=60_000.0),
    symbol=st.sampled_from((BTC, ADA)),
    side=st.sampled_from(("BUY", "SELL")),
    quantity=st.sampled_from((1.0, 1.05, 1.1, 1.2, 2.0)),
    notional=st.sampled_from((800.0, 1_001.0, 1_600.0, 2_600.0, 4_500.0, 30_000.0, 60_000.0)),
)


@settings(max_examples=300)
@given(st.lists(facts, max_size=40))
def test_trades_the_guard_lets_through_never_match_a_spine_rule(candidates: list[TradeFact]) -> None:
    """Property: a trader whose every trade passed the guard shows no spine pattern, by the rules'
    reference implementations (written independently of the guard)."""
    kept: list[TradeFact] = []
    for fact in sorted(candidates, key=lambda f: f.at_ms):
        if spine_safe(kept, fact):
            kept.append(fact)
    trades = _trades(kept)
    assert (large_orders(trades), volume_spikes(trades), wash_round_trips(trades), rapid_bursts(trades)) == (0, 0, 0, 0)


# --- the emission queue ---------------------------------------------------------------------------


def _fills(user: int, side: str, times: list[float]) -> Session:
    session = Session("retail")
    for at in times:
        session.fill(session.place(at - 50, user, VENUE, side, "MARKET", 90_000.0, 100), at)
    return session


def _released(queue: EmissionQueue, now: float) -> list[tuple[int, str, float]]:
    return [(e.order.user, e.event_type, at) for e, _, at in queue.release_until(now)]


def test_each_traders_events_come_in_event_time_and_their_own_order() -> None:
    queue = EmissionQueue()
    queue.add(_fills(1, "BUY", [T0 + 100, T0 + 300]))
    queue.add(_fills(2, "BUY", [T0 + 200]))
    assert [(u, at) for u, _, at in _released(queue, T0 + 1_000)] == [
        (1, T0 + 50), (1, T0 + 100), (2, T0 + 150), (2, T0 + 200), (1, T0 + 250), (1, T0 + 300),
    ]  # fmt: skip
    assert len(queue) == 0


def test_sells_wait_while_the_flow_already_sold_twice_on_the_venue_since_its_last_buy() -> None:
    queue = EmissionQueue()
    queue.add(_fills(1, "SELL", [T0 + 100, T0 + 200, T0 + 300]))
    queue.add(_fills(2, "BUY", [T0 + 2_000]))
    released = _released(queue, T0 + 1_000)
    assert [kind for _, kind, _ in released].count(FILL) == MAX_FLOW_SELLS
    assert len(queue) == 3  # trader 1's third sell, waiting; trader 2's order, not due yet
    queue.observe_trade(VENUE, "SELL", T0 + 1_100)  # the trade flow's sells do not release it
    assert _released(queue, T0 + 1_200) == []
    queue.observe_trade(VENUE, "BUY", T0 + 1_500)  # anyone's buy does
    assert _released(queue, T0 + 1_500) == [(1, FILL, T0 + 1_500)]


def test_a_buy_of_the_flow_itself_releases_waiting_sells_and_flush_releases_the_rest() -> None:
    queue = EmissionQueue()
    queue.add(_fills(1, "SELL", [T0 + 100, T0 + 200, T0 + 300]))
    queue.add(_fills(2, "BUY", [T0 + 400]))
    assert _released(queue, T0 + 1_000)[-2:] == [(2, FILL, T0 + 400), (1, FILL, T0 + 400)]
    queue.add(_fills(3, "SELL", [T0 + 500, T0 + 600, T0 + 700]))
    # Trader 1's late sell counts: trader 3's first sell is the second, the next one waits and so
    # does trader 3's order behind it.
    assert _released(queue, T0 + 1_000) == [(3, NEW, T0 + 450), (3, FILL, T0 + 500), (3, NEW, T0 + 550)]
    assert [(user, kind) for user, kind, _ in _flushed(queue)] == [(3, FILL), (3, NEW), (3, FILL)]
    assert len(queue) == 0


def _flushed(queue: EmissionQueue) -> list[tuple[int, str, float]]:
    return [(e.order.user, e.event_type, at) for e, _, at in queue.flush()]
