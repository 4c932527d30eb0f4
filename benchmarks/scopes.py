"""Redis cost by window scope: CPU per trade (user, user+symbol, market) and memory per user and market.

CPU: the window script calls the handler made are recorded, then replayed on a fresh redis-server
once per scope with only that scope's windows in them, each replay timed by the server's own CPU
counters. The replays leave out the ledger and alert-mark writes (one commit script per batch),
so their sum falls short of the handler's whole Redis CPU by that much; the benchmark prints both.

Memory: MEMORY USAGE of every key after the run, summed by what owns it (a user's windows, a
market's windows, the trade ledger) and divided by how many owners there are.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import psutil
import redis

from riskengine.windows.spec import KEY_PREFIX, Scope
from riskengine.windows.store import APPLY_SCRIPT, RedisWindowStore
from riskengine_tools.local import EmbeddedRedis

__all__ = ["ScriptRecorder", "memory_by_owner", "only_scope", "redis_cpu_by_scope"]

Call = tuple[list[str], list[Any]]
# One apply-script call's layout (windows/apply_batch.lua): runs of windows, each run a header of
# RUN_ARGS arguments ending with its window count, then WINDOW_ARGS arguments and WINDOW_KEYS keys
# per window, the window's members first.
RUN_ARGS, WINDOW_ARGS, WINDOW_KEYS = 8, 5, 4
_USER = re.compile(rf"^{re.escape(KEY_PREFIX)}:\{{u:[^}}]*\}}")
_MARKET = re.compile(rf"^{re.escape(KEY_PREFIX)}:\{{se:[^}}]*\}}")


def scope_of(window_key: str) -> Scope:
    if _MARKET.match(window_key):
        return Scope.SYMBOL_EXCHANGE
    user = _USER.match(window_key)
    if user is None:
        raise ValueError(f"not a window key: {window_key!r}")
    rest = window_key[user.end() :]
    if rest.startswith(":s:"):
        return Scope.USER_SYMBOL
    if rest.startswith(":ob:"):
        return Scope.ORDER_BOOK
    return Scope.USER_ORDERS if rest == ":o" else Scope.USER


class ScriptRecorder:
    """Keeps a copy of every window-script call a store makes, until ``limit`` trades' worth."""

    def __init__(self, store: RedisWindowStore, limit: int) -> None:
        self.calls: list[Call] = []
        self.trades = 0
        self._limit = limit
        run = store._run_script  # the one seam where a part's calls are complete

        def recorded(calls: list[Call]) -> list[Any]:
            if self.trades < self._limit:
                self.calls += [(list(keys), list(args)) for keys, args in calls]
                self.trades += _trades_in(calls)
            return run(calls)

        store._run_script = recorded  # type: ignore[method-assign]


def _trades_in(calls: Iterable[Call]) -> int:
    """Trades in a part: each is in exactly one user window, so count the user windows' members."""
    count = 0
    for keys, args in calls:
        for _, windows in _runs(keys, args):
            for window_keys, window_args in windows:
                if scope_of(window_keys[0]) is Scope.USER:
                    count += str(window_args[0]).count("\x1e") + 1
    return count


def _runs(keys: list[str], args: list[Any]) -> Iterator[tuple[list[Any], list[tuple[list[str], list[Any]]]]]:
    """A call's runs: each run's header and its windows' keys and arguments."""
    a = w = 0
    while a < len(args):
        header = args[a : a + RUN_ARGS]
        a += RUN_ARGS
        windows = []
        for _ in range(int(header[-1])):
            windows.append((keys[w : w + WINDOW_KEYS], args[a : a + WINDOW_ARGS]))
            a += WINDOW_ARGS
            w += WINDOW_KEYS
        yield header, windows


def redis_cpu_by_scope(calls: list[Call], trades: int) -> dict[str, float]:
    """Server CPU µs per trade of each scope's share of ``calls``, each replayed alone on a fresh server,
    and the bytes per trade its calls send (keys and arguments) and get back (the replies' strings)."""
    result: dict[str, float] = {}
    for scope in Scope:
        only = [only_scope(call, scope) for call in calls]
        sent = received = 0
        with EmbeddedRedis() as server, redis.Redis.from_url(server.url) as client:
            script = client.register_script(APPLY_SCRIPT)
            process = psutil.Process(server.pid)
            before = sum(process.cpu_times()[:2])
            for keys, args in only:
                if keys:
                    received += _size(script(keys=keys, args=args))
                    sent += _size(keys) + _size(args)
            result[f"redis_cpu_us_per_trade_{scope.value}"] = (sum(process.cpu_times()[:2]) - before) * 1e6 / trades
        result[f"script_sent_bytes_per_trade_{scope.value}"] = sent / trades
        result[f"script_reply_bytes_per_trade_{scope.value}"] = received / trades
    for way in ("sent", "reply"):
        result[f"script_{way}_bytes_per_trade"] = sum(result[f"script_{way}_bytes_per_trade_{s.value}"] for s in Scope)
    return result


def _size(value: Any) -> int:
    """Bytes of the strings and numbers in a script call's keys, arguments or reply (no protocol framing)."""
    if isinstance(value, list | tuple):
        return sum(map(_size, value))
    return len(value) if isinstance(value, bytes) else len(str(value).encode())


def only_scope(call: Call, scope: Scope) -> Call:
    """The call with only ``scope``'s windows in it (runs re-counted)."""
    kept_keys: list[str] = []
    kept_args: list[Any] = []
    for header, windows in _runs(*call):
        kept = [(keys, args) for keys, args in windows if scope_of(keys[0]) is scope]
        if kept:
            kept_args += [*header[:-1], len(kept)]
            for keys, args in kept:
                kept_keys += keys
                kept_args += args
    return kept_keys, kept_args


def memory_by_owner(client: redis.Redis) -> dict[str, float | int]:
    """Bytes per active user (their windows, marks, volume), per market, and per ledger entry."""
    totals: Counter[str] = Counter()
    scanned: Counter[str] = Counter()
    owners: defaultdict[str, set[str]] = defaultdict(set)  # hash tags of users and markets (few)
    for raw in client.scan_iter(count=1_000):
        key = raw.decode()
        usage = int(client.memory_usage(key) or 0)
        market = _MARKET.match(key)
        tag = market or _USER.match(key)
        owner = "market" if market else "user" if tag else "ledger"
        totals[owner] += usage
        scanned[owner] += 1
        if tag is not None:
            owners[owner].add(tag.group(0))
    # Ledger keys are counted, not kept: a million of them would weigh more than the handler did.
    # (SCAN may return a key twice while the keyspace rehashes; the averages stay right.)
    return {
        "active_users": len(owners["user"]),
        "markets": len(owners["market"]),
        "ledger_entries": scanned["ledger"],
        "redis_bytes_per_user": totals["user"] / max(1, len(owners["user"])),
        "redis_bytes_per_market": totals["market"] / max(1, len(owners["market"])),
        "redis_bytes_per_ledger_entry": totals["ledger"] / max(1, scanned["ledger"]),
    }
