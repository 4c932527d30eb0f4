"""SimulationTicker: which trades a tick claims and produces, and that none is produced twice."""

from __future__ import annotations

import pytest
from simulation_fakes import START_MS, FakeControl, FakeSink

from riskengine.errors import SinkError
from riskengine.simulation import RunStatus, SimulationPlan, SimulationTicker, TradeStream

PLAN = SimulationPlan(rate_per_s=50.0, duration_s=60, users=200, seed=11)


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


def _expected(until_ms: int) -> list[dict]:
    """The run's trades stamped at or before ``until_ms``, straight from a fresh stream."""
    run = FakeControl().start(PLAN)
    return TradeStream(run).due(0, until_ms, limit=10**9).trades


def test_nothing_happens_without_a_running_simulation(control: FakeControl, sink: FakeSink) -> None:
    result = SimulationTicker(control, sink).tick(START_MS + 10_000)
    assert (result.run_id, result.produced) == (None, 0)
    assert sink.sent == []


def test_a_tick_produces_exactly_the_trades_whose_time_has_come(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    now = START_MS + 2_000
    result = SimulationTicker(control, sink).tick(now)
    assert sink.sent == _expected(now)
    assert result.produced == len(sink.sent) > 0
    assert all(trade["timestamp"] <= now for trade in sink.sent)
    assert (result.first_sequence, result.finished) == (0, False)
    run = control.read()
    assert run is not None
    assert (run.claimed, run.produced, run.failed, run.last_tick_at_ms) == (result.produced, result.produced, 0, now)


def test_successive_ticks_continue_the_sequence_without_gaps_or_repeats(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    ticker = SimulationTicker(control, sink)
    produced = [ticker.tick(START_MS + seconds * 1_000).produced for seconds in (1, 1, 3, 7)]
    assert produced[1] == 0  # nothing new came due at the same instant
    assert sink.sent == _expected(START_MS + 7_000)
    assert sink.sequences == list(range(len(sink.sent)))


def test_two_containers_ticking_in_turn_share_the_work_without_duplicates(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    first, second = SimulationTicker(control, sink), SimulationTicker(control, sink)
    for seconds, ticker in [(1, first), (2, second), (3, first), (3, second), (5, second), (6, first)]:
        ticker.tick(START_MS + seconds * 1_000)
    assert sink.sent == _expected(START_MS + 6_000)
    assert len({trade["tradeId"] for trade in sink.sent}) == len(sink.sent)


def test_a_tick_that_loses_the_claim_race_produces_only_what_is_left(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    rival = SimulationTicker(control, sink)
    # The rival claims (and produces) up to 2 s while our tick is between its read and its claim.
    control.before_claim = lambda: rival.tick(START_MS + 2_000)
    result = SimulationTicker(control, sink).tick(START_MS + 4_000)
    rival_count = len(_expected(START_MS + 2_000))
    assert result.first_sequence == rival_count
    assert sink.sent == _expected(START_MS + 4_000)
    assert sink.sequences == list(range(len(sink.sent)))


def test_a_failed_write_is_counted_and_never_retried(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    ticker = SimulationTicker(control, sink)
    sink.fail_next = True
    with pytest.raises(SinkError):
        ticker.tick(START_MS + 2_000)
    lost = len(_expected(START_MS + 2_000))
    ticker.tick(START_MS + 4_000)
    run = control.read()
    assert run is not None
    assert (run.failed, run.produced, run.claimed) == (lost, len(sink.sent), lost + len(sink.sent))
    assert sink.sent == _expected(START_MS + 4_000)[lost:]


def test_the_tick_after_the_planned_end_finishes_the_run(control: FakeControl, sink: FakeSink) -> None:
    plan = SimulationPlan(rate_per_s=50.0, duration_s=3, users=200, seed=11)
    run = control.start(plan)
    ticker = SimulationTicker(control, sink)
    result = ticker.tick(run.stops_at_ms + 60_000)
    assert result.finished
    assert sink.sent and all(trade["timestamp"] < run.stops_at_ms for trade in sink.sent)
    finished = control.read()
    assert finished is not None
    assert (finished.status, finished.ended_at_ms) == (RunStatus.FINISHED, run.stops_at_ms + 60_000)
    assert ticker.tick(run.stops_at_ms + 120_000).produced == 0


def test_a_stopped_run_produces_nothing_more(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    ticker = SimulationTicker(control, sink)
    ticker.tick(START_MS + 1_000)
    before = len(sink.sent)
    control.stop(START_MS + 1_500)
    assert ticker.tick(START_MS + 5_000).produced == 0
    assert len(sink.sent) == before


def test_a_tick_that_fell_behind_catches_up_over_several_ticks(control: FakeControl, sink: FakeSink) -> None:
    control.start(PLAN)
    ticker = SimulationTicker(control, sink, max_trades_per_tick=40)
    now = START_MS + 3_000
    due = len(_expected(now))
    assert due > 80  # the cap matters below
    results = [ticker.tick(now) for _ in range(due // 40 + 1)]
    assert [result.produced for result in results[:2]] == [40, 40]
    assert sink.sent == _expected(now)
