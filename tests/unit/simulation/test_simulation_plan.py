"""SimulationPlan: the bounds of a run, and messages that name the API's fields."""

from __future__ import annotations

import pytest

from riskengine.simulation import MAX_TRADES_PER_RUN, SimulationPlan


def test_a_plan_within_bounds_gives_the_simulator_its_config() -> None:
    plan = SimulationPlan(rate_per_s=20, duration_s=300, users=500, seed=7)
    config = plan.simulator_config(start_ms=1_000)
    assert (config.seed, config.users, config.start_ms, config.rate_per_s) == (7, 500, 1_000, 20.0)
    assert config.invalid_fraction == 0.0
    assert (plan.duration_ms, plan.expected_trades) == (300_000, 6_000)


@pytest.mark.parametrize(
    ("changes", "mentions"),
    [
        ({"rate_per_s": 0}, "ratePerSecond must be > 0"),
        ({"rate_per_s": float("nan")}, "ratePerSecond"),
        ({"rate_per_s": 501.0, "users": 5_000}, "<= 500"),
        ({"rate_per_s": True}, "ratePerSecond must be a number"),
        ({"duration_s": 0}, "durationSeconds must be within 1..86,400"),
        ({"duration_s": 1.5}, "durationSeconds must be an integer"),
        ({"users": 49}, "users must be within 50..100,000"),
        ({"seed": -1}, "seed must be within"),
        ({"rate_per_s": 100.0, "users": 150}, "needs at least 200 users (got 150)"),
        ({"rate_per_s": 500.0, "users": 1_000, "duration_s": 2_001}, "at most 1,000,000"),
    ],
)
def test_out_of_bounds_plans_say_which_field_and_why(changes: dict, mentions: str) -> None:
    values = {"rate_per_s": 20.0, "duration_s": 300, "users": 500, "seed": 7} | changes
    with pytest.raises(ValueError, match=mentions.replace("(", r"\(").replace(")", r"\)")):
        SimulationPlan(**values)


def test_the_largest_run_is_allowed() -> None:
    plan = SimulationPlan(rate_per_s=500.0, duration_s=2_000, users=1_000, seed=0)
    assert plan.expected_trades == MAX_TRADES_PER_RUN
