"""The window store: Redis sorted sets, read and written in a constant number of round trips.

``apply`` places a batch of trades in every window they belong to and returns, per window,
what detection needs; ``mark_alerts`` remembers alerts once they are written, so a
redelivered batch raises none again. Standalone Redis takes one script call per batch;
Redis Cluster takes one per hash slot (keys of one user or one market share a slot).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

import redis
from redis.cluster import RedisCluster, key_slot
from redis.exceptions import NoScriptError, RedisClusterException

from riskengine.errors import StateStoreError
from riskengine.model import Trade
from riskengine.windows.events import RECORD_SEPARATOR, SEPARATOR, WindowDecoder, WindowEvent, encode_member
from riskengine.windows.spec import Scope, WindowSpec

APPLY_SCRIPT = resources.files("riskengine.windows").joinpath("apply_batch.lua").read_text()

PLACED, REDELIVERED, LATE = "N", "D", "L"
# A batch is applied in parts of about this many trades, at most MAX_PARTS of them, so the
# number of script calls per batch stays bounded however large the batch is.
PART_TARGET_SIZE = 125
MAX_PARTS = 8


class WindowState:
    """One window as a batch sees it after being applied."""

    __slots__ = ("_batch_positions", "batch_trade_ids", "episodes", "events", "key", "spec", "volume_buckets")

    def __init__(self, spec: WindowSpec, key: str) -> None:
        self.spec = spec
        self.key = key
        self.events: list[WindowEvent] = []
        self.batch_trade_ids: dict[str, str] = {}  # trade id -> PLACED / REDELIVERED / LATE
        self.episodes: dict[tuple[str, str], str] = {}  # (rule, first evidence trade) -> alert id
        self.volume_buckets: dict[int, float] = {}
        self._batch_positions: dict[str, int] | None = None

    @property
    def batch_positions(self) -> dict[str, int]:
        """Where this batch's placed or redelivered events sit in ``events``, by trade id (computed once)."""
        if self._batch_positions is None:
            batch = self.batch_trade_ids
            self._batch_positions = {
                event.trade_id: i for i, event in enumerate(self.events) if batch.get(event.trade_id, LATE) != LATE
            }
        return self._batch_positions


@dataclass(frozen=True, slots=True)
class BatchWindows:
    """Every window a batch touched, and for each trade (in batch order) its window per scope."""

    windows: list[WindowState]
    by_trade: list[dict[Scope, WindowState]]

    def of_scope(self, scope: Scope) -> list[WindowState]:
        return [window for window in self.windows if window.spec.scope is scope]


@dataclass(frozen=True, slots=True)
class AlertMark:
    """Remember that ``alert_id`` was written, in the window whose events are its evidence.

    The mark also names the episode (rule and first evidence trade) the alert reported.
    """

    window_key: str
    alert_id: str
    rule: str
    first_trade_id: str
    timestamp: int
    ttl_ms: int

    @property
    def member(self) -> str:
        return SEPARATOR.join((self.alert_id, self.rule, self.first_trade_id))


@dataclass(slots=True)
class RoundTripCounter:
    """Counts what the store sends, so benchmarks can report commands and round trips per batch."""

    round_trips: int = 0
    script_calls: int = 0


class WindowStore(Protocol):
    def apply(self, trades: Sequence[Trade]) -> Iterator[tuple[Sequence[Trade], BatchWindows]]: ...

    def mark_alerts(self, marks: Sequence[AlertMark]) -> None: ...


class RedisWindowStore:
    """Windows in Redis (standalone or cluster), driven by one Lua script."""

    def __init__(self, client: redis.Redis | RedisCluster, specs: Mapping[Scope, WindowSpec]) -> None:
        self._client = client
        self._specs = dict(specs)
        self._script = client.register_script(APPLY_SCRIPT)
        self._cluster = isinstance(client, RedisCluster)
        if self._cluster:
            # Pipelined EVALSHA cannot load a missing script: load it on every primary up front.
            client.script_load(APPLY_SCRIPT)
        self._decode = WindowDecoder()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="window-store")
        self.counter = RoundTripCounter()

    @property
    def specs(self) -> Mapping[Scope, WindowSpec]:
        return self._specs

    def apply(self, trades: Sequence[Trade]) -> Iterator[tuple[Sequence[Trade], BatchWindows]]:
        """Apply ``trades`` in up to ``MAX_PARTS`` consecutive parts, yielding each part's windows.

        A background thread sends the parts' scripts one after another while the caller
        scores the part already returned, so Redis and Python work at the same time; the
        parts are applied in order, as if the trigger had delivered smaller batches.
        """
        pending: deque[tuple[Sequence[Trade], BatchWindows, list[_Group], Future[list[Any]]]] = deque()
        for part in _split(trades, self._part_count(len(trades))):
            windows, by_trade = self._group(part)
            groups = self._by_slot(windows.values())
            members = {trade.trade_id: encode_member(trade) for trade in part}  # once for all its windows
            calls = [_script_arguments(group, members) for group in groups]
            batch = BatchWindows([state for state, _ in windows.values()], by_trade)
            pending.append((part, batch, groups, self._io.submit(self._run_script, calls)))
        while pending:
            part, batch, groups, future = pending.popleft()
            try:
                replies = future.result()
            except (redis.RedisError, RedisClusterException) as exc:
                raise StateStoreError(f"window script failed: {exc}") from exc
            for group, group_replies in zip(groups, replies, strict=True):
                for (state, members), reply in zip(group, group_replies, strict=True):
                    _read_reply(state, members, reply, self._decode)
            yield part, batch

    def _part_count(self, trades: int) -> int:
        return max(1, min(MAX_PARTS, -(-trades // PART_TARGET_SIZE)))

    def _run_script(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """One script call per slot group; in cluster mode they are pipelined (one round trip per node)."""
        self.counter.script_calls += len(calls)
        if not self._cluster:
            self.counter.round_trips += len(calls)
            return [self._script(keys, args) for keys, args in calls]
        try:
            return self._pipelined(calls)
        except NoScriptError:  # a node restarted or was added since start-up: load and retry once
            self._client.script_load(APPLY_SCRIPT)
            return self._pipelined(calls)

    def _pipelined(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        pipe = self._client.pipeline()
        for keys, args in calls:
            # redis-py blocks pipe.evalsha() in cluster mode; the raw command is routed by its keys.
            pipe.execute_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
        self.counter.round_trips += 1
        return pipe.execute()

    def mark_alerts(self, marks: Sequence[AlertMark]) -> None:
        if not marks:
            return
        pipe = self._client.pipeline(transaction=False)
        for mark in marks:
            key = f"{mark.window_key}:alerts"
            pipe.zadd(key, {mark.member: mark.timestamp})
            # Marks older than the window's retention can never be raised again.
            pipe.zremrangebyscore(key, "-inf", f"({mark.timestamp - mark.ttl_ms}")
            pipe.pexpire(key, mark.ttl_ms)
        try:
            pipe.execute()
        except (redis.RedisError, RedisClusterException) as exc:
            raise StateStoreError(f"could not record alert marks: {exc}") from exc
        self.counter.round_trips += 1

    def _group(
        self, trades: Sequence[Trade]
    ) -> tuple[dict[str, tuple[WindowState, list[Trade]]], list[dict[Scope, WindowState]]]:
        windows: dict[str, tuple[WindowState, list[Trade]]] = {}
        by_trade: list[dict[Scope, WindowState]] = [{} for _ in trades]
        for spec in self._specs.values():
            key_of = spec.scope.key
            for trade, mine in zip(trades, by_trade, strict=True):
                key = key_of(trade)
                entry = windows.get(key)
                if entry is None:
                    entry = windows[key] = (WindowState(spec=spec, key=key), [])
                entry[1].append(trade)
                mine[spec.scope] = entry[0]
        return windows, by_trade

    def _by_slot(
        self, windows: Iterable[tuple[WindowState, list[Trade]]]
    ) -> list[list[tuple[WindowState, list[Trade]]]]:
        if not self._cluster:
            group = list(windows)
            return [group] if group else []
        slots: dict[int, list[tuple[WindowState, list[Trade]]]] = defaultdict(list)
        for entry in windows:
            slots[key_slot(entry[0].key.encode())].append(entry)
        return list(slots.values())


_Group = list[tuple[WindowState, list[Trade]]]


def _split(trades: Sequence[Trade], parts: int) -> list[Sequence[Trade]]:
    size = -(-len(trades) // parts)
    return [trades[start : start + size] for start in range(0, len(trades), size)] if trades else []


def _script_arguments(
    group: Sequence[tuple[WindowState, list[Trade]]], member_of: Mapping[str, str]
) -> tuple[list[str], list[Any]]:
    keys: list[str] = []
    args: list[Any] = []
    for state, trades in group:
        spec = state.spec
        keys += (state.key, f"{state.key}:alerts", f"{state.key}:vol")
        members = RECORD_SEPARATOR.join([member_of[trade.trade_id] for trade in trades])
        args += (spec.lateness_ms, spec.history, spec.horizon_ms, spec.ttl_ms, spec.volume_bucket_ms, members)
    return keys, args


def _read_reply(state: WindowState, trades: Sequence[Trade], reply: Sequence[Any], decode: WindowDecoder) -> None:
    statuses, members, alert_ids, flat_buckets = reply
    state.batch_trade_ids = {trade.trade_id: status for trade, status in zip(trades, _text(statuses), strict=True)}
    state.events = decode(_text(members))
    for mark in alert_ids:
        fields = _text(mark).split(SEPARATOR)
        if len(fields) == 3:  # anything else is not a mark this version wrote: it marks nothing
            identifier, rule, first_trade_id = fields
            state.episodes[(rule, first_trade_id)] = identifier
    state.volume_buckets = {int(flat_buckets[i]): float(flat_buckets[i + 1]) for i in range(0, len(flat_buckets), 2)}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
