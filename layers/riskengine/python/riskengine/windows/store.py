"""The engine's state in Redis, read and written in a constant number of round trips per batch.

``lookup`` reads the trades' ledger entries (one MGET); ``apply`` places the batch's new trades in
every window they belong to and returns, per window, what detection needs (one script call per
part); ``commit`` writes the batch's ledger entries and alert marks (one script call). On Redis
Cluster each of these is one call per hash slot, pipelined: keys of one user, one market or one
ledger tag share a slot.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple, Protocol

import redis
from redis.cluster import RedisCluster, key_slot
from redis.exceptions import NoScriptError, RedisClusterException

from riskengine.errors import StateStoreError
from riskengine.model import Trade
from riskengine.windows.events import (
    RECORD_SEPARATOR,
    SEPARATOR,
    WindowCopies,
    WindowCopy,
    WindowEvent,
    encode_member,
    event_of,
)
from riskengine.windows.spec import Scope, WindowSpec

APPLY_SCRIPT = resources.files("riskengine.windows").joinpath("apply_batch.lua").read_text()
COMMIT_SCRIPT = resources.files("riskengine.windows").joinpath("commit_batch.lua").read_text()

PLACED, REDELIVERED, LATE = "N", "D", "L"
NO_GATE, OPENS_GATE, NEEDS_OPEN_GATE = 0, 1, 2  # a window's gate mode in a script call
CLOSED_GATE = -2  # the script's ``reused`` for a gated window it did not read back
REPLY_SIZE = 5  # reply elements per window (apply_batch.lua)
# A batch is applied in parts of about this many trades, at most MAX_PARTS of them (plus a short
# lead part, see _split), so the
# number of script calls per batch stays bounded however large the batch is.
PART_TARGET_SIZE = 125
MAX_PARTS = 8


class WindowState:
    """One window as a part of a batch sees it after being applied."""

    __slots__ = ("dormant", "events", "key", "marks", "spec", "statuses", "volume_buckets")

    def __init__(self, spec: WindowSpec, key: str) -> None:
        self.spec = spec
        self.key = key
        self.events: list[WindowEvent] = []  # window order: event time, then arrival
        self.statuses: dict[str, str] = {}  # trade id -> PLACED / REDELIVERED / LATE, for the part's trades
        self.marks: dict[tuple[str, str], str] = {}  # (rule, end trade id) -> alert id
        self.volume_buckets: dict[int, int] = {}  # bucket -> notional in cents
        # Its gate is closed (see Scope.gate): the part's events were placed, nothing was read back,
        # and no rule of its scope can match in it.
        self.dormant = False


@dataclass(frozen=True, slots=True)
class BatchWindows:
    """Every window a batch touched, and for each trade (in batch order) its window per scope."""

    windows: list[WindowState]
    by_trade: list[dict[Scope, WindowState]]

    def of_scope(self, scope: Scope) -> list[WindowState]:
        return [window for window in self.windows if window.spec.scope is scope]


@dataclass(frozen=True, slots=True)
class AlertMark:
    """Remember that the match of ``rule`` ending at ``end_event_id`` belongs to ``alert_id``'s episode
    (for an episode its rule names, ``end_event_id`` holds that name, e.g. a spoof's order id).

    Kept in the window the match was found in, scored by the event time of its last trade.
    """

    window_key: str
    rule: str
    end_event_id: str
    alert_id: str
    timestamp: int
    ttl_ms: int

    @property
    def member(self) -> str:
        return SEPARATOR.join((self.rule, self.end_event_id, self.alert_id))


@dataclass(slots=True)
class RoundTripCounter:
    """Counts what the store sends, so benchmarks can report commands and round trips per batch."""

    round_trips: int = 0
    script_calls: int = 0


class WindowStore(Protocol):
    def lookup(self, keys: Sequence[str]) -> Future[list[bytes | None]]: ...

    def apply(self, trades: Sequence[Trade]) -> Iterator[tuple[Sequence[Trade], BatchWindows]]: ...

    def commit(
        self, ledger: Sequence[tuple[str, str]], ledger_ttl_ms: int, marks: Sequence[AlertMark]
    ) -> Future[None]: ...


class RedisWindowStore:
    """Windows, alert marks and the ledger in Redis (standalone or cluster), driven by two Lua scripts.

    Every call goes through one background thread, in the order submitted, so Redis and Python work
    at the same time while a batch's reads and writes stay in order.
    """

    def __init__(self, client: redis.Redis | RedisCluster, specs: Mapping[Scope, WindowSpec]) -> None:
        self._client = client
        self._specs = dict(specs)
        self._script = client.register_script(APPLY_SCRIPT)
        self._commit_script = client.register_script(COMMIT_SCRIPT)
        self._cluster = isinstance(client, RedisCluster)
        if self._cluster:
            # Pipelined EVALSHA cannot load a missing script: load them on every primary up front.
            client.script_load(APPLY_SCRIPT)
            client.script_load(COMMIT_SCRIPT)
        self._copies = WindowCopies()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="window-store")
        self.counter = RoundTripCounter()

    @property
    def specs(self) -> Mapping[Scope, WindowSpec]:
        return self._specs

    def lookup(self, keys: Sequence[str]) -> Future[list[bytes | None]]:
        """The values of ``keys`` (ledger entries), None where absent: one round trip (per node on a cluster).

        Sent from the background thread, so the caller can work meanwhile; ``result()`` raises
        StateStoreError when Redis fails.
        """
        return self._io.submit(self._lookup, list(keys))

    def _lookup(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            values = self._client.mget_nonatomic(keys) if self._cluster else self._client.mget(keys)  # type: ignore[union-attr]
        except (redis.RedisError, RedisClusterException) as exc:
            raise StateStoreError(f"ledger lookup failed: {exc}") from exc
        self.counter.round_trips += 1
        return list(values)

    def apply(self, trades: Sequence[Trade]) -> Iterator[tuple[Sequence[Trade], BatchWindows]]:
        """Apply ``trades`` (arrival order) in up to ``MAX_PARTS`` consecutive parts, yielding each part's windows.

        A background thread sends the parts' scripts one after another while the caller
        scores the part already returned, so Redis and Python work at the same time; the
        parts are applied in order, as if the trigger had delivered smaller batches.
        """
        pending: deque[_Pending] = deque()
        # Each window as it will be once the parts before have been applied, if every trade of theirs
        # is placed: the copy a part's call is sent with, so that a window every part touches (a
        # market) still comes back as its newest members only. A wrong guess only costs a full read.
        expected: dict[str, WindowCopy] = {}
        for part in _split(trades, part_sizes(len(trades))):
            windows, by_trade = self._group(part)
            groups = self._by_slot(windows.values())
            members = {trade.event_id: encode_member(trade) for trade in part}  # once for all its windows
            known = {members[trade.event_id]: event_of(trade) for trade in part}
            copies = [[expected.get(state.key) or self._copies.get(state.key) for state, _ in g] for g in groups]
            calls = [_script_arguments(group, members, sent) for group, sent in zip(groups, copies, strict=True)]
            for group, sent in zip(groups, copies, strict=True):
                for (state, trades_in), copy in zip(group, sent, strict=True):
                    placed = [members[trade.event_id] for trade in trades_in]
                    expected[state.key] = copy.extended(placed, [known[member] for member in placed])
            batch = BatchWindows([state for state, _ in windows.values()], by_trade)
            pending.append(_Pending(part, batch, groups, copies, known, self._io.submit(self._run_script, calls)))
        while pending:
            item = pending.popleft()
            try:
                replies = item.future.result()
            except (redis.RedisError, RedisClusterException) as exc:
                raise StateStoreError(f"window script failed: {exc}") from exc
            for group, sent, flat in zip(item.groups, item.copies, replies, strict=True):
                for i, ((state, trades_in), copy) in enumerate(zip(group, sent, strict=True)):
                    self._read_reply(state, trades_in, copy, flat[REPLY_SIZE * i : REPLY_SIZE * (i + 1)], item.known)
            yield item.part, item.batch

    def _read_reply(
        self,
        state: WindowState,
        trades: Sequence[Trade],
        copy: WindowCopy,
        reply: Sequence[Any],
        known: Mapping[str, WindowEvent],
    ) -> None:
        statuses, blob, marks, buckets, reused = reply
        state.statuses = {trade.event_id: status for trade, status in zip(trades, _text(statuses), strict=True)}
        if int(reused) == CLOSED_GATE:
            state.dormant = True
            return
        state.events = self._copies.read(state.key, copy, _text(blob), int(reused), known)
        for mark in _text(marks).split(RECORD_SEPARATOR) if marks else ():
            fields = mark.split(SEPARATOR)
            if len(fields) == 3:  # anything else is not a mark this version wrote: it marks nothing
                rule, end_event_id, alert_id = fields
                state.marks.setdefault((rule, end_event_id), alert_id)
        if buckets:
            flat = _text(buckets).split(RECORD_SEPARATOR)
            state.volume_buckets = {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    def _run_script(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        return self._call(self._script, APPLY_SCRIPT, calls)

    def commit(self, ledger: Sequence[tuple[str, str]], ledger_ttl_ms: int, marks: Sequence[AlertMark]) -> Future[None]:
        """Write ledger entries (key, value) and alert marks: one script call (per slot, pipelined, on a cluster).

        Sent from the background thread, after everything submitted before; ``result()`` raises
        StateStoreError when Redis fails.
        """
        return self._io.submit(self._commit, ledger, ledger_ttl_ms, marks)

    def _commit(self, ledger: Sequence[tuple[str, str]], ledger_ttl_ms: int, marks: Sequence[AlertMark]) -> None:
        if not ledger and not marks:
            return
        groups: dict[int, tuple[list[tuple[str, str]], list[AlertMark]]] = {}
        for key, value in ledger:
            groups.setdefault(self._slot(key), ([], []))[0].append((key, value))
        for mark in marks:
            groups.setdefault(self._slot(mark.window_key), ([], []))[1].append(mark)
        calls = [_commit_arguments(entries, ledger_ttl_ms, group_marks) for entries, group_marks in groups.values()]
        try:
            self._call(self._commit_script, COMMIT_SCRIPT, calls)
        except (redis.RedisError, RedisClusterException) as exc:
            raise StateStoreError(f"could not record the batch's ledger entries and alert marks: {exc}") from exc

    def _slot(self, key: str) -> int:
        return key_slot(key.encode()) if self._cluster else 0

    def _call(self, script: Any, source: str, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """One script call per slot group; in cluster mode they are pipelined (one round trip per node)."""
        self.counter.script_calls += len(calls)
        if not self._cluster:
            self.counter.round_trips += len(calls)
            return [script(keys, args) for keys, args in calls]
        try:
            return self._pipelined(script.sha, calls)
        except NoScriptError:  # a node restarted or was added since start-up: load and retry once
            self._client.script_load(source)
            return self._pipelined(script.sha, calls)

    def _pipelined(self, sha: str, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        pipe = self._client.pipeline()
        for keys, args in calls:
            # redis-py blocks pipe.evalsha() in cluster mode; the raw command is routed by its keys.
            pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)
        self.counter.round_trips += 1
        return pipe.execute()

    def _group(
        self, trades: Sequence[Trade]
    ) -> tuple[dict[str, tuple[WindowState, list[Trade]]], list[dict[Scope, WindowState]]]:
        windows: dict[str, tuple[WindowState, list[Trade]]] = {}
        by_trade: list[dict[Scope, WindowState]] = [{} for _ in trades]
        for spec in self._specs.values():
            key_of, kinds = spec.scope.key, spec.scope.kinds
            for trade, mine in zip(trades, by_trade, strict=True):
                if not isinstance(trade, kinds):
                    continue
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
            slots[self._slot(entry[0].key)].append(entry)
        return list(slots.values())


_Group = list[tuple[WindowState, list[Trade]]]


class _Pending(NamedTuple):
    """A part whose script call is in flight, with what reading its reply needs."""

    part: Sequence[Trade]
    batch: BatchWindows
    groups: list[_Group]
    copies: list[list[WindowCopy]]  # per group, per window: the copy the call was sent with
    known: dict[str, WindowEvent]  # the part's own members, decoded without parsing
    future: Future[list[Any]]


def part_sizes(count: int) -> list[int]:
    """How a batch of ``count`` new trades is applied: ``ceil(count / PART_TARGET_SIZE)`` parts (at most
    ``MAX_PARTS``) of about equal size, preceded, when there is more than one, by a lead part a
    quarter of that size. Nothing overlaps the lead part's script, so the shorter it is, the sooner
    Python judges one part while Redis applies the next."""
    parts = max(1, min(MAX_PARTS, -(-count // PART_TARGET_SIZE)))
    if count == 0 or parts == 1:
        return [count] if count else []
    lead = max(1, -(-count // parts) // 4)
    size = -(-(count - lead) // parts)
    rest = [size] * ((count - lead) // size) + ([(count - lead) % size] if (count - lead) % size else [])
    return [lead, *rest]


def _split(trades: Sequence[Trade], sizes: Sequence[int]) -> list[Sequence[Trade]]:
    parts, start = [], 0
    for size in sizes:
        parts.append(trades[start : start + size])
        start += size
    return parts


def _script_arguments(
    group: Sequence[tuple[WindowState, list[Trade]]], member_of: Mapping[str, str], copies: Sequence[WindowCopy]
) -> tuple[list[str], list[Any]]:
    """Keys and arguments of one apply-script call: consecutive windows of one spec and gate mode
    form a run whose spec is sent once (``apply_batch.lua`` describes the layout)."""
    keys: list[str] = []
    args: list[Any] = []
    run: tuple[WindowSpec, int] | None = None
    count_at = 0  # where the current run's window count is
    for (state, trades), copy in zip(group, copies, strict=True):
        spec = state.spec
        mode = _gate_mode(spec.scope, trades)
        if run is None or run[0] is not spec or run[1] != mode:
            run = (spec, mode)
            args += (spec.lateness_ms, spec.history, spec.horizon_ms, spec.ttl_ms, spec.volume_bucket_ms)
            args += (spec.closed_horizon_ms, mode, 0)
            count_at = len(args) - 1
        args[count_at] += 1
        keys += (state.key, f"{state.key}:alerts", f"{state.key}:vol", f"{state.key}:gate")
        args.append(RECORD_SEPARATOR.join([member_of[trade.event_id] for trade in trades]))
        args += copy.anchors
    return keys, args


def _gate_mode(scope: Scope, events: Sequence[Trade]) -> int:
    gate = scope.gate
    if gate is None:
        return NO_GATE
    return OPENS_GATE if any(isinstance(event, gate) for event in events) else NEEDS_OPEN_GATE


def _commit_arguments(
    ledger: Sequence[tuple[str, str]], ledger_ttl_ms: int, marks: Sequence[AlertMark]
) -> tuple[list[str], list[Any]]:
    keys = [key for key, _ in ledger] + [f"{mark.window_key}:alerts" for mark in marks]
    args: list[Any] = [len(ledger), ledger_ttl_ms, *(value for _, value in ledger)]
    for mark in marks:
        args += (mark.member, mark.timestamp, mark.ttl_ms)
    return keys, args


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
