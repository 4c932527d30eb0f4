"""Fakes for the ingest_trade handler's clients: the trades producer and the simulation control state."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from riskengine.errors import StateStoreError
from riskengine.simulation import RunStatus, SimulationAlreadyRunning, SimulationPlan, SimulationRun

# invoke(method, path, body=None, *, raw=None) -> (status, headers, decoded JSON body): the ``invoke`` fixture.
Invoke = Callable[..., tuple[int, dict[str, str], Any]]


class FakeProducer:
    topic = "crypto-trades"

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.error: Exception | None = None

    def send(self, trades: Sequence[dict[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        self.sent.extend(trades)


class FakeControl:
    """start/stop/read with the stored semantics of SimulationControl (the Lua is tested on redis-server)."""

    def __init__(self) -> None:
        self.run: SimulationRun | None = None
        self.down = False

    def start(self, plan: SimulationPlan, now_ms: int) -> SimulationRun:
        self._check()
        if self.run is not None and self.run.status is RunStatus.RUNNING:
            raise SimulationAlreadyRunning(self.run.run_id)
        self.run = SimulationRun("abc123", RunStatus.RUNNING, plan, now_ms, now_ms + plan.duration_ms)
        return self.run

    def stop(self, now_ms: int) -> SimulationRun | None:
        self._check()
        if self.run is not None and self.run.status is RunStatus.RUNNING:
            self.run = dataclasses.replace(self.run, status=RunStatus.STOPPED, ended_at_ms=now_ms)
        return self.run

    def read(self) -> SimulationRun | None:
        self._check()
        return self.run

    def _check(self) -> None:
        if self.down:
            raise StateStoreError("cannot read the simulation state from Redis: Connection refused")
