"""TradeStream: trade n of a run is the same whichever tick (or container) produces it."""

from __future__ import annotations

from simulation_fakes import START_MS, FakeControl

from riskengine.simulation import SimulationPlan, TradeStream, TradingSimulator
from riskengine.validation import validate_trade

PLAN = SimulationPlan(rate_per_s=100.0, duration_s=30, users=300, seed=5)
ALL = 10**9


def _run(plan: SimulationPlan = PLAN, run_id: str = "run1"):
    return FakeControl().start(plan, START_MS, run_id)


def test_the_stream_is_the_seeded_simulator_from_the_run_start_with_run_scoped_ids() -> None:
    due = TradeStream(_run()).due(0, START_MS + 5_000, ALL).trades
    simulated = list(TradingSimulator(PLAN.simulator_config(START_MS)).trades(len(due)))
    assert [trade | {"tradeId": None} for trade in due] == [trade | {"tradeId": None} for trade in simulated]
    assert [trade["tradeId"] for trade in due] == [f"sim-run1-{n}" for n in range(len(due))]


def test_only_trades_stamped_at_or_before_now_are_due() -> None:
    now = START_MS + 2_500
    stream = TradeStream(_run())
    due = stream.due(0, now, ALL).trades
    following = stream.due(len(due), START_MS + 30_000, 1).trades
    assert due and all(trade["timestamp"] <= now for trade in due)
    assert following[0]["timestamp"] > now


def test_the_limit_cuts_and_the_next_call_continues_exactly() -> None:
    stream = TradeStream(_run())
    first = stream.due(0, START_MS + 4_000, 100).trades
    rest = stream.due(100, START_MS + 4_000, ALL).trades
    assert len(first) == 100
    assert first + rest == TradeStream(_run()).due(0, START_MS + 4_000, ALL).trades


def test_any_position_can_be_reached_again_with_the_same_trades() -> None:
    stream = TradeStream(_run())
    stream.due(0, START_MS + 6_000, ALL)
    rewound = stream.due(50, START_MS + 3_000, ALL).trades  # behind where the stream is
    fresh = TradeStream(_run()).due(50, START_MS + 3_000, ALL).trades
    assert rewound == fresh and rewound[0]["tradeId"] == "sim-run1-50"


def test_the_stream_is_exhausted_at_the_planned_end() -> None:
    run = _run(SimulationPlan(rate_per_s=100.0, duration_s=2, users=300, seed=5))
    due = TradeStream(run).due(0, run.stops_at_ms + 10_000, ALL)
    assert due.exhausted
    assert due.trades and all(trade["timestamp"] < run.stops_at_ms for trade in due.trades)
    assert not TradeStream(run).due(0, run.stops_at_ms - 1_000, ALL).exhausted


def test_two_runs_with_the_same_seed_never_share_a_trade_id() -> None:
    first = TradeStream(_run(run_id="a")).due(0, START_MS + 1_000, ALL).trades
    second = TradeStream(_run(run_id="b")).due(0, START_MS + 1_000, ALL).trades
    assert {t["tradeId"] for t in first}.isdisjoint(t["tradeId"] for t in second)


def test_every_simulated_trade_passes_the_scorers_validation() -> None:
    due = TradeStream(_run()).due(0, START_MS + 30_000, ALL).trades
    for trade in due:
        validate_trade(trade, now_ms=START_MS + 30_000)
