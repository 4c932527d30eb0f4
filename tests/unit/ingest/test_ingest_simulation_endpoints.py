"""/simulation/start, /stop and /stats: bounds, defaults, conflicts and Redis trouble."""

from __future__ import annotations

from typing import Any

import pytest
from ingest_fakes import FakeControl, Invoke


def test_start_without_a_body_uses_the_defaults(invoke: Invoke, control: FakeControl) -> None:
    status, _, body = invoke("POST", "/simulation/start")
    assert status == 202
    assert body["state"] == "running" and body["runId"] == "abc123"
    assert (body["ratePerSecond"], body["durationSeconds"], body["users"], body["seed"]) == (20.0, 300, 500, 7)
    assert body["stopsAtMs"] - body["startedAtMs"] == 300_000
    assert (body["claimed"], body["produced"], body["failed"]) == (0, 0, 0)


def test_start_takes_the_plan_from_the_body(invoke: Invoke, control: FakeControl) -> None:
    status, _, body = invoke(
        "POST", "/simulation/start", {"ratePerSecond": 50, "durationSeconds": 60, "users": 100, "seed": 3}
    )
    assert status == 202
    assert control.run is not None
    plan = control.run.plan
    assert (plan.rate_per_s, plan.duration_s, plan.users, plan.seed) == (50, 60, 100, 3)
    assert body["ratePerSecond"] == 50.0


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"ratePerSecond": 0}, "body field ratePerSecond: Input should be greater than 0"),
        ({"ratePerSecond": 501}, "body field ratePerSecond: Input should be less than or equal to 500"),
        ({"ratePerSecond": "20"}, "body field ratePerSecond: Input should be a valid number"),
        ({"durationSeconds": 1.5}, "body field durationSeconds: Input should be a valid integer"),
        ({"users": 10}, "body field users: Input should be greater than or equal to 50"),
        ({"seed": -1}, "body field seed: Input should be greater than or equal to 0"),
        ({"rate": 20}, "body field rate: Extra inputs are not permitted"),
        (
            {"ratePerSecond": 100, "users": 100},
            "body: ratePerSecond 100 needs at least 200 users (got 100): at most 0.5 trades/s per user, "
            "or ordinary users would look like RAPID_BURST",
        ),
        (
            {"ratePerSecond": 500, "users": 1000, "durationSeconds": 3600},
            "body: ratePerSecond x durationSeconds = 1,800,000 trades; a run may have at most 1,000,000: "
            "lower the rate or the duration",
        ),
    ],
)
def test_a_plan_out_of_bounds_is_a_400_that_names_the_field(
    invoke: Invoke, control: FakeControl, request_body: dict[str, Any], message: str
) -> None:
    status, _, body = invoke("POST", "/simulation/start", request_body)
    assert (status, body) == (400, {"message": message})
    assert control.run is None


def test_a_second_start_while_running_is_a_409(invoke: Invoke) -> None:
    assert invoke("POST", "/simulation/start")[0] == 202
    status, _, body = invoke("POST", "/simulation/start")
    assert status == 409
    assert body == {"message": "simulation abc123 is still running: POST /simulation/stop first, then start again"}


def test_stop_then_stats_report_the_stopped_run(invoke: Invoke) -> None:
    invoke("POST", "/simulation/start")
    status, _, stopped = invoke("POST", "/simulation/stop")
    assert status == 200
    assert stopped["state"] == "stopped" and stopped["endedAtMs"] >= stopped["startedAtMs"]
    assert invoke("GET", "/simulation/stats")[2] == stopped
    assert invoke("POST", "/simulation/start")[0] == 202  # a stopped run does not block the next one


def test_stats_and_stop_without_any_run_say_idle(invoke: Invoke) -> None:
    idle = {
        "state": "idle",
        "runId": None,
        "ratePerSecond": None,
        "durationSeconds": None,
        "users": None,
        "seed": None,
        "startedAtMs": None,
        "stopsAtMs": None,
        "endedAtMs": None,
        "lastTickAtMs": None,
        "claimed": 0,
        "produced": 0,
        "failed": 0,
    }
    assert invoke("GET", "/simulation/stats") == (200, {"Content-Type": "application/json"}, idle)
    assert invoke("POST", "/simulation/stop")[::2] == (200, idle)


@pytest.mark.parametrize(("method", "path"), [("POST", "/simulation/start"), ("GET", "/simulation/stats")])
def test_redis_trouble_is_a_503(invoke: Invoke, control: FakeControl, method: str, path: str) -> None:
    control.down = True
    status, headers, body = invoke(method, path)
    assert (status, headers["Retry-After"]) == (503, "5")
    assert body["message"].startswith("cannot read the simulation state from Redis")
