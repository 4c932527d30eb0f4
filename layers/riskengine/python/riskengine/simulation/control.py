"""The simulation's control state in Redis, shared by the intake API and the scheduled ticks.

One hash holds the current run. Every change that depends on what is stored is one Lua script,
so two ticks (two containers, or a retried invocation next to a new one) never claim the same
trades: a tick claims the range ``[claimed, end)`` only if ``claimed`` is still what it read.
One key, so the scripts are valid on Redis Cluster as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import RedisClusterException, RedisError

from riskengine.errors import RiskEngineError, StateStoreError
from riskengine.simulation.plan import SimulationPlan

CONTROL_KEY = "rk:v1:simulation:control"
# How long a run's state stays readable after its planned end (stats of yesterday's run, then nothing).
RETENTION_MS = 86_400_000

# ARGV: ttl_ms, then field/value pairs. Returns the running run's id, or nothing when started.
_START = """
local current = redis.call('HMGET', KEYS[1], 'status', 'run_id')
if current[1] == 'running' then return current[2] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return false
"""
# ARGV: run_id, expected claimed, new claimed, finished (0/1), now_ms. Returns 1 granted, 0 conflict, -1 stale.
_CLAIM = """
local run = redis.call('HMGET', KEYS[1], 'run_id', 'status', 'claimed')
if run[1] ~= ARGV[1] or run[2] ~= 'running' then return -1 end
if run[3] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'claimed', ARGV[3], 'last_tick_at_ms', ARGV[5])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'status', 'finished', 'ended_at_ms', ARGV[5]) end
return 1
"""
# ARGV: run_id, produced, failed. Counts of a replaced run are dropped.
_RECORD = """
if redis.call('HGET', KEYS[1], 'run_id') ~= ARGV[1] then return 0 end
redis.call('HINCRBY', KEYS[1], 'produced', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'failed', ARGV[3])
return 1
"""
# ARGV: now_ms.
_STOP = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'stopped', 'ended_at_ms', ARGV[1])
return 1
"""


class RunStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # by POST /simulation/stop
    FINISHED = "finished"  # every trade of the run was claimed


class Claim(StrEnum):
    GRANTED = "granted"
    CONFLICT = "conflict"  # another tick claimed first: read again
    STALE = "stale"  # the run was stopped, finished or replaced meanwhile


class SimulationAlreadyRunning(RiskEngineError):
    """A run is in progress; it must be stopped before another starts."""

    reason = "simulation_running"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"simulation {run_id} is still running: POST /simulation/stop first, then start again")
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class SimulationRun:
    """The stored state of one run. ``claimed`` trades have been handed to ticks, in sequence order."""

    run_id: str
    status: RunStatus
    plan: SimulationPlan
    started_at_ms: int
    stops_at_ms: int
    ended_at_ms: int | None = None
    claimed: int = 0
    produced: int = 0
    failed: int = 0
    last_tick_at_ms: int | None = None

    @classmethod
    def from_hash(cls, fields: Mapping[bytes, bytes]) -> SimulationRun:
        text = {key.decode(): value.decode() for key, value in fields.items()}
        return cls(
            run_id=text["run_id"],
            status=RunStatus(text["status"]),
            plan=SimulationPlan(
                rate_per_s=float(text["rate_per_s"]),
                duration_s=int(text["duration_s"]),
                users=int(text["users"]),
                seed=int(text["seed"]),
            ),
            started_at_ms=int(text["started_at_ms"]),
            stops_at_ms=int(text["stops_at_ms"]),
            ended_at_ms=_optional_int(text.get("ended_at_ms")),
            claimed=int(text["claimed"]),
            produced=int(text["produced"]),
            failed=int(text["failed"]),
            last_tick_at_ms=_optional_int(text.get("last_tick_at_ms")),
        )

    def to_hash(self) -> dict[str, str]:
        """The fields ``start`` writes; optional ones are absent until they happen."""
        fields = {
            "run_id": self.run_id,
            "status": self.status.value,
            "rate_per_s": repr(float(self.plan.rate_per_s)),
            "duration_s": str(self.plan.duration_s),
            "users": str(self.plan.users),
            "seed": str(self.plan.seed),
            "started_at_ms": str(self.started_at_ms),
            "stops_at_ms": str(self.stops_at_ms),
            "claimed": str(self.claimed),
            "produced": str(self.produced),
            "failed": str(self.failed),
        }
        if self.ended_at_ms is not None:
            fields["ended_at_ms"] = str(self.ended_at_ms)
        if self.last_tick_at_ms is not None:
            fields["last_tick_at_ms"] = str(self.last_tick_at_ms)
        return fields


def _optional_int(value: str | None) -> int | None:
    return None if value is None else int(value)


class SimulationControl:
    """Start, stop and read the current run; claim and count its trades. Redis errors become StateStoreError."""

    def __init__(self, client: redis.Redis | RedisCluster, key: str = CONTROL_KEY) -> None:
        self._client = client
        self._key = key
        self._start = client.register_script(_START)
        self._claim = client.register_script(_CLAIM)
        self._record = client.register_script(_RECORD)
        self._stop = client.register_script(_STOP)

    def start(self, plan: SimulationPlan, now_ms: int, run_id: str | None = None) -> SimulationRun:
        """Store a new run beginning at ``now_ms``; raise SimulationAlreadyRunning if one is running."""
        run = SimulationRun(
            run_id=run_id or uuid.uuid4().hex[:12],
            status=RunStatus.RUNNING,
            plan=plan,
            started_at_ms=now_ms,
            stops_at_ms=now_ms + plan.duration_ms,
        )
        pairs = [item for field_value in run.to_hash().items() for item in field_value]
        running = self._call(self._start, plan.duration_ms + RETENTION_MS, *pairs)
        if running is not None:
            raise SimulationAlreadyRunning(running.decode())
        return run

    def stop(self, now_ms: int) -> SimulationRun | None:
        """Stop the running run (a tick already producing its claimed range still finishes it)."""
        self._call(self._stop, now_ms)
        return self.read()

    def read(self) -> SimulationRun | None:
        """The current (or last) run, or None when there is none."""
        try:
            fields = self._client.hgetall(self._key)
        except (RedisError, RedisClusterException) as exc:
            raise StateStoreError(f"cannot read the simulation state from Redis: {exc}") from exc
        return SimulationRun.from_hash(fields) if fields else None

    def claim(self, run_id: str, start: int, end: int, *, finished: bool, now_ms: int) -> Claim:
        """Claim trades ``start..end-1`` of ``run_id`` if nobody claimed beyond ``start`` since it was read."""
        granted = self._call(self._claim, run_id, start, end, int(finished), now_ms)
        return {1: Claim.GRANTED, 0: Claim.CONFLICT}.get(granted, Claim.STALE)

    def record(self, run_id: str, *, produced: int, failed: int) -> None:
        """Count trades written (or lost: a claimed range is never produced twice, so a failed write is not retried)."""
        self._call(self._record, run_id, produced, failed)

    def _call(self, script: Script, *args: object) -> object:
        try:
            return script(keys=[self._key], args=list(args))
        except (RedisError, RedisClusterException) as exc:
            raise StateStoreError(f"cannot update the simulation state in Redis: {exc}") from exc
