"""In-memory stand-ins for the simulation's Redis control state and its Kafka producer.

``FakeControl`` keeps the contract of ``SimulationControl`` (its Lua scripts): a claim is granted
only while the run is running and nobody claimed beyond the start the caller read. The real
scripts are exercised against redis-server in tests/integration/test_ingest_api.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from riskengine.errors import SinkError
from riskengine.simulation import Claim, RunStatus, SimulationPlan, SimulationRun

START_MS = 1_763_900_000_000


class FakeControl:
    def __init__(self) -> None:
        self.run: SimulationRun | None = None
        self.before_claim: Callable[[], None] | None = None  # runs once, between a tick's read and its claim

    def start(self, plan: SimulationPlan, now_ms: int = START_MS, run_id: str = "run1") -> SimulationRun:
        self.run = SimulationRun(run_id, RunStatus.RUNNING, plan, now_ms, now_ms + plan.duration_ms)
        return self.run

    def stop(self, now_ms: int) -> SimulationRun | None:
        if self.run is not None and self.run.status is RunStatus.RUNNING:
            self.run = dataclasses.replace(self.run, status=RunStatus.STOPPED, ended_at_ms=now_ms)
        return self.run

    def read(self) -> SimulationRun | None:
        return self.run

    def claim(self, run_id: str, start: int, end: int, *, finished: bool, now_ms: int) -> Claim:
        if self.before_claim is not None:
            interference, self.before_claim = self.before_claim, None
            interference()
        run = self.run
        if run is None or run.run_id != run_id or run.status is not RunStatus.RUNNING:
            return Claim.STALE
        if run.claimed != start:
            return Claim.CONFLICT
        changes: dict[str, Any] = {"claimed": end, "last_tick_at_ms": now_ms}
        if finished:
            changes |= {"status": RunStatus.FINISHED, "ended_at_ms": now_ms}
        self.run = dataclasses.replace(run, **changes)
        return Claim.GRANTED

    def record(self, run_id: str, *, produced: int, failed: int) -> None:
        if self.run is not None and self.run.run_id == run_id:
            self.run = dataclasses.replace(
                self.run, produced=self.run.produced + produced, failed=self.run.failed + failed
            )


class FakeSink:
    """Records what would have been written; ``fail_next`` makes the next send raise SinkError."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_next = False

    def send(self, trades: Sequence[dict[str, Any]]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise SinkError("broker unreachable")
        self.sent.extend(trades)

    @property
    def sequences(self) -> list[int]:
        return [int(trade["tradeId"].rsplit("-", 1)[1]) for trade in self.sent]
