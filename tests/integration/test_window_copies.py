"""Window copies: a store that keeps what it read from each window gets only the newer members back,
and reads exactly what a store without copies reads, whoever else writes the windows meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from builders import NOW, trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.model import Trade, arrival_key
from riskengine.validation import validate_trade
from riskengine.windows.events import WindowCopy
from riskengine.windows.spec import Scope, WindowSpec
from riskengine.windows.store import REPLY_SIZE, RedisWindowStore
from riskengine_tools.local import EmbeddedRedis

# Small histories, so that windows are evicted within a few parts.
SPECS = {
    Scope.USER: WindowSpec(Scope.USER, 4, 30_000, 10_000),
    Scope.SYMBOL_EXCHANGE: WindowSpec(Scope.SYMBOL_EXCHANGE, 3, 60_000, 60_000, volume_bucket_ms=10_000),
}
Read = dict[str, tuple[dict[str, str], list[Any], dict[tuple[str, str], str], dict[int, int]]]


@pytest.fixture
def databases(redis_server: EmbeddedRedis) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """Database 0 for the stores under test, database 1 for the reference."""
    base = redis_server.url.rsplit("/", 1)[0]
    pair = redis.Redis.from_url(f"{base}/0"), redis.Redis.from_url(f"{base}/1")
    for client in pair:
        client.flushdb()
    yield pair
    for client in pair:
        client.close()


def make_trade(number: int, user: str, market: str, at: int, offset: int) -> Trade:
    raw = trade(f"T{number}", user=user, exchange=market, at=at, quantity=1.0 + number % 7)
    return validate_trade(raw, now_ms=NOW, arrival=arrival_key(0, offset))


def read(store: RedisWindowStore, part: list[Trade]) -> Read:
    """What one part reads: per window, statuses, events, alert marks and volume buckets."""
    result: Read = {}
    for _, windows in store.apply(part):
        for state in windows.windows:
            result[state.key] = (state.statuses, state.events, state.marks, state.volume_buckets)
    return result


def copied_members(store: RedisWindowStore, part: list[Trade], client: redis.Redis) -> int:
    """How many members the script sent back for ``part`` (the rest came from the store's copies)."""
    sent = 0
    run = store._run_script

    def counting(calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        nonlocal sent
        replies = run(calls)
        blobs = [flat[i + 1] for flat in replies for i in range(0, len(flat), REPLY_SIZE)]  # a window's members
        sent += sum(len(blob.split(b"\x1e")) for blob in blobs if blob)
        return replies

    store._run_script = counting  # type: ignore[method-assign]
    read(store, part)
    store._run_script = run  # type: ignore[method-assign]
    return sent


def test_a_store_with_copies_gets_back_only_the_newer_members(databases: tuple[redis.Redis, redis.Redis]) -> None:
    client, _ = databases
    store = RedisWindowStore(client, SPECS)
    history = [make_trade(n, "U1", "EX", n * 100, n) for n in range(6)]
    read(store, history)
    newer = [make_trade(6, "U1", "EX", 600, 6)]
    # Without copies the user window alone returns 4 history events plus the new one.
    assert copied_members(store, newer, client) == 2  # the new member, once per window
    fresh = RedisWindowStore(client, SPECS)
    assert copied_members(fresh, [make_trade(7, "U1", "EX", 700, 7)], client) > 2


def test_a_trade_inserted_inside_a_copy_by_another_writer_is_read(databases: tuple[redis.Redis, redis.Redis]) -> None:
    client, _ = databases
    mine, other = RedisWindowStore(client, SPECS), RedisWindowStore(client, SPECS)
    read(mine, [make_trade(n, "U1", "EX", n * 1_000, n) for n in range(5)])
    read(other, [make_trade(9, "U2", "EX", 2_500, 9)])  # lands between copied market events
    windows = read(mine, [make_trade(10, "U1", "EX", 5_000, 10)])
    market = next(events for key, (_, events, _, _) in windows.items() if "{se:" in key)
    assert "T9" in [event.event_id for event in market]


def test_a_copy_that_starts_after_the_events_needed_is_not_used(databases: tuple[redis.Redis, redis.Redis]) -> None:
    client, reference = databases
    store = RedisWindowStore(client, SPECS)
    history = [make_trade(n, "U1", "EX", n * 100, n) for n in range(6)]
    read(store, history)
    read(RedisWindowStore(reference, SPECS), history)
    for key, copy in list(store._copies._copies.items()):  # as if it had been read with less history
        store._copies._copies[key] = WindowCopy(copy.members[-2:], copy.events[-2:])
    newer = [make_trade(6, "U1", "EX", 600, 6)]
    assert read(store, newer) == read(RedisWindowStore(reference, SPECS), newer)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(
                st.sampled_from(["mine", "other"]),
                st.lists(
                    st.tuples(st.sampled_from(["U1", "U2"]), st.sampled_from(["EX", "EY"]), st.integers(-15, 5)),
                    min_size=1,
                    max_size=6,
                ),
            ),
            st.just(("flush", [])),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_reads_equal_those_of_a_store_without_copies(
    databases: tuple[redis.Redis, redis.Redis], steps: list[tuple[str, list[tuple[str, str, int]]]]
) -> None:
    """Two writers with copies (one container and another) against a fresh store per part (no copies),
    over in-order and late trades, evictions and a database emptied under the copies."""
    client, reference = databases
    for db in databases:
        db.flushdb()
    stores = {"mine": RedisWindowStore(client, SPECS), "other": RedisWindowStore(client, SPECS)}
    clock, number = 0, 0
    for writer, spec in steps:
        if writer == "flush":
            client.flushdb()
            reference.flushdb()
            continue
        part = []
        for user, market, step in spec:
            clock += 1_000
            number += 1
            part.append(make_trade(number, user, market, max(0, clock + step * 1_000), number))
        assert read(stores[writer], part) == read(RedisWindowStore(reference, SPECS), part)
