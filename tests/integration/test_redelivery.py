"""At-least-once delivery: a redelivered batch leaves Redis byte-identical, raises no new alert and
writes exactly its first results again (same scores, same alert ids); a batch whose results could not
be written is retried safely, even after other partitions have moved its windows on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import redis
from builders import CODEC, NOW, SUBJECT, sell_run, trade

from riskengine.errors import SinkError
from riskengine.model import SourceRecord
from riskengine.pipeline import BatchOutcome, BatchProcessor
from riskengine.runtime import build_engine
from riskengine.settings import Settings
from riskengine.sinks import MemorySink
from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration

# Fields that legitimately differ between two deliveries: when the engine processed them.
VOLATILE = ("processedAt", "detectedAt")


def records(
    trades: Sequence[dict[str, Any]], *, first_offsets: dict[int, int] | None = None, partitions: int = 1
) -> list[SourceRecord]:
    """Records spread round-robin over ``partitions``, offsets counting up from ``first_offsets``."""
    next_offset = dict(first_offsets or {}) or {p: 0 for p in range(partitions)}
    out = []
    for i, t in enumerate(trades):
        partition = sorted(next_offset)[i % len(next_offset)]
        out.append(
            SourceRecord(
                "crypto-trades",
                partition,
                next_offset[partition],
                t["timestamp"],
                t["userId"].encode(),
                CODEC.encode(SUBJECT, t),
            )
        )
        next_offset[partition] += 1
    return out


def processor(client: redis.Redis, url: str, sink: MemorySink | None = None) -> BatchProcessor:
    engine = build_engine(client, Settings(redis_url=url))
    return BatchProcessor(engine=engine, codec=CODEC, sink=sink or MemorySink(), clock_ms=lambda: NOW)


def dump(client: redis.Redis) -> dict[bytes, tuple[Any, ...]]:
    """Every key: its type, type-appropriate contents (with scores), its DUMP bytes, whether it has a TTL."""
    state: dict[bytes, tuple[Any, ...]] = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key)
        if kind == b"zset":
            contents: Any = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"hash":
            contents = sorted(client.hgetall(key).items())
        elif kind == b"string":
            contents = client.get(key)
        elif kind == b"set":
            contents = sorted(client.smembers(key))
        elif kind == b"list":
            contents = client.lrange(key, 0, -1)
        else:
            raise AssertionError(f"unexpected Redis type {kind!r} for {key!r}")
        ttl = client.pttl(key)
        assert ttl != -2, key
        state[key] = (kind, contents, client.dump(key), ttl > 0)
    return state


def stable(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k not in VOLATILE} for item in items]


def compact_mixed_batch() -> list[dict[str, Any]]:
    """Every pattern at once, each within a few seconds of event time."""
    spike = [
        trade(f"vs{i}", user="U-VS", symbol="ETH/USDT", quantity=q, price=2_000.0, at=i * 1_000)
        for i, q in enumerate((1.0, 1.55, 2.35))
    ]
    wash = [
        trade("wt0", user="U-WT", symbol="SOL/USDT", side="BUY", quantity=10.0, price=150.0, at=0),
        trade("wt1", user="U-WT", symbol="SOL/USDT", side="SELL", quantity=10.5, price=150.0, at=1_000),
        trade("wt2", user="U-WT", symbol="SOL/USDT", side="BUY", quantity=10.0, price=150.0, at=2_000),
    ]
    crash = [
        trade(
            f"fc{i:02d}",
            user=f"U-FC{i}",
            symbol="ADA/USDT",
            side="SELL",
            quantity=1_000.0,
            price=0.5 - i * 0.005,
            at=i * 300,
            exchange="KRAKEN",
        )
        for i in range(15)
    ]
    burst = [
        trade(f"rb{i:02d}", user="U-RB", symbol="DOT/USDT", quantity=1.0, price=7.0, at=i * 150) for i in range(30)
    ]
    large = [
        trade("lo", user="U-LO", quantity=12.0, price=50_000.0, at=2_500),
        trade("self", user="U-ST", counterpartyUserId="U-ST", at=2_600, country="KP"),
    ]
    return sorted([*spike, *wash, *crash, *burst, *large], key=lambda t: (t["timestamp"], t["tradeId"]))


PATTERNS = ["FLASH_CRASH", "LARGE_ORDER", "RAPID_BURST", "VOLUME_SPIKE", "WASH_TRADING", "WASH_TRADING"]


def _deliver_twice(client: redis.Redis, url: str, batch: list[SourceRecord]) -> tuple[MemorySink, BatchOutcome]:
    sink = MemorySink()
    first = processor(client, url, sink).process(batch)
    assert first.failure is None
    state = dump(client)
    analyzed, alerts = list(sink.analyzed), list(sink.alerts)
    # A fresh processor, as a new Lambda container picking up the retried batch would be.
    second = processor(client, url, sink).process(batch)
    assert second.failure is None
    assert second.response() == {"batchItemFailures": []}
    # Every trade is answered from the ledger: its first results again, nothing new.
    assert second.redelivered == second.scored == first.scored
    assert sum(second.alerts.values()) == 0
    assert second.alerts_republished == len(alerts)
    assert stable(sink.alerts[len(alerts) :]) == stable(alerts)
    assert stable(sink.analyzed[len(analyzed) :]) == stable(analyzed)
    assert dump(client) == state
    return sink, first


def test_a_redelivered_batch_changes_nothing_and_raises_no_alert_twice(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    trades = compact_mixed_batch()
    sink, first = _deliver_twice(redis_client, redis_server.url, records(trades))
    assert first.scored == len(trades)
    assert sorted(a["patternType"] for a in sink.alerts[: sum(first.alerts.values())]) == PATTERNS
    assert len({a["alertId"] for a in sink.alerts}) == len(PATTERNS)
    assert len(sink.analyzed) == 2 * len(trades)
    assert {a["originalTrade"]["tradeId"] for a in sink.analyzed} == {t["tradeId"] for t in trades}
    # Every analysed trade was re-emitted with its scores, patterns and alert ids.
    firsts, seconds = sink.analyzed[: len(trades)], sink.analyzed[len(trades) :]
    for a, b in zip(firsts, seconds, strict=True):
        assert (a["riskScore"], a["finalRiskLevel"], a["scoreContributions"], a["alertIds"]) == (
            b["riskScore"],
            b["finalRiskLevel"],
            b["scoreContributions"],
            b["alertIds"],
        )
    assert any(a["riskScore"] > 0.5 for a in seconds)


def test_a_redelivered_late_trade_does_not_raise_its_alert_again(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    processor(redis_client, redis_server.url).process(
        records([trade("on-time", user="U-L", at=100_000), trade("on-time-2", user="U-L", at=101_000)])
    )
    late = records([trade("late-large", user="U-L", quantity=20.0, price=50_000.0, at=30_000)], first_offsets={0: 2})
    sink, first = _deliver_twice(redis_client, redis_server.url, late)
    assert first.late_trades == 1
    assert [a["patternType"] for a in sink.alerts] == ["LARGE_ORDER", "LARGE_ORDER"]
    assert len({a["alertId"] for a in sink.alerts}) == 1
    assert [a["lateEvent"] for a in sink.analyzed] == [True, True]


def test_an_old_batch_redelivered_after_newer_ones_gives_its_first_results_again(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    sink = MemorySink()
    proc = processor(redis_client, redis_server.url, sink)
    old = records(
        [
            trade("b0", user="U-W", side="BUY", at=0),
            trade("s0", user="U-W", side="SELL", at=1_000),
            trade("b1", user="U-W", side="BUY", at=2_000),
        ]
    )
    proc.process(old)
    first = stable(sink.analyzed)
    # A later trade that would change the old trades' windows (it follows them in event time).
    proc.process(records([trade("later", user="U-W", side="SELL", at=3_000)], first_offsets={0: 3}))
    assert [a["patternType"] for a in sink.alerts] == ["WASH_TRADING"]
    again = proc.process(old)
    assert sum(again.alerts.values()) == 0
    assert again.alerts_republished == 1 and again.redelivered == 3
    assert stable(sink.alerts[1:]) == stable(sink.alerts[:1])
    assert stable(sink.analyzed[-3:]) == first


def test_a_producer_retry_inside_one_batch_is_scored_once(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    sink = MemorySink()
    twice = trade("dup", user="U-D", quantity=20.0, price=50_000.0)
    outcome = processor(redis_client, redis_server.url, sink).process(records([twice, twice]))
    assert outcome.duplicates == 1
    assert outcome.scored == 1
    assert [a["originalTrade"]["tradeId"] for a in sink.analyzed] == ["dup"]
    assert [a["patternType"] for a in sink.alerts] == ["LARGE_ORDER"]


def test_a_redelivered_batch_spanning_more_than_the_lateness_raises_no_new_alert(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    crash = [
        trade(
            f"fc{i:02d}",
            user=f"U-FC{i}",
            symbol="ADA/USDT",
            side="SELL",
            quantity=1_000.0,
            price=0.5 - i * 0.005,
            at=i * 2_000,
            exchange="KRAKEN",
        )
        for i in range(15)
    ]
    sink, _ = _deliver_twice(redis_client, redis_server.url, records(crash))
    assert {(a["alertId"], a["triggeredEvents"][0]) for a in sink.alerts} == {(sink.alerts[0]["alertId"], "fc00")}


# --- a retry after the results could not be flushed ------------------------------------------


class FlakySink(MemorySink):
    """The first ``failures`` writes are lost and raise, as a broker that timed out would."""

    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures
        self.writes = 0

    def send(self, prepared: Any) -> None:
        self.writes += 1
        if self.failures:
            self.failures -= 1
            raise SinkError("broker unavailable: 3 of 3 writes timed out")
        super().send(prepared)


def test_a_retry_after_a_failed_flush_writes_every_alert_exactly_once(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    trades = compact_mixed_batch()
    batch = records(trades, first_offsets={0: 100, 1: 7})
    assert {r.partition for r in batch} == {0, 1}

    # What a clean run produces, on its own database, as the reference.
    control = MemorySink()
    processor(redis_client, redis_server.url, control).process(batch)
    assert sorted(a["patternType"] for a in control.alerts) == PATTERNS
    redis_client.flushall()

    sink = FlakySink(failures=1)
    first = processor(redis_client, redis_server.url, sink).process(batch)
    assert first.failure is not None
    assert "broker unavailable" in first.failure
    assert first.response() == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "crypto-trades-0", "offset": 100}},
            {"itemIdentifier": {"partition": "crypto-trades-1", "offset": 7}},
        ]
    }
    assert sink.alerts == [] and sink.analyzed == []
    # The decisions were recorded before the write: the retry writes exactly them.
    assert redis_client.keys("*:alerts") != []

    second = processor(redis_client, redis_server.url, sink).process(batch)
    assert second.failure is None
    assert second.response() == {"batchItemFailures": []}
    assert second.alerts_republished == len(PATTERNS)
    assert stable(sink.alerts) == stable(control.alerts)
    assert len({a["alertId"] for a in sink.alerts}) == len(sink.alerts) == len(PATTERNS)
    assert stable(sink.analyzed) == stable(control.analyzed)

    # A third delivery (e.g. the trigger retrying once more) writes the same again, nothing new.
    third = processor(redis_client, redis_server.url, sink).process(batch)
    assert sum(third.alerts.values()) == 0
    assert {a["alertId"] for a in sink.alerts} == {a["alertId"] for a in control.alerts}
    assert sink.writes == 3


def test_redis_unavailable_fails_the_batch_for_a_retry_and_nothing_is_lost() -> None:
    server = EmbeddedRedis().start()
    port = server.port
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=1)
        sink = MemorySink()
        engine = build_engine(client, Settings(redis_url=server.url))
        processor = BatchProcessor(engine=engine, codec=CODEC, sink=sink, clock_ms=lambda: NOW)
        batch = records([trade("big-1", quantity=6_000.0, price=100.0), trade("small-1", at=1_000)], partitions=2)
        server.stop()
        failed = processor.process(batch)
        assert failed.failure is not None and "Connection refused" in failed.failure
        assert failed.response() == {
            "batchItemFailures": [
                {"itemIdentifier": {"partition": "crypto-trades-0", "offset": 0}},
                {"itemIdentifier": {"partition": "crypto-trades-1", "offset": 0}},
            ]
        }
        assert sink.analyzed == [] and sink.alerts == []  # nothing half-written
        server = EmbeddedRedis(port=port).start()  # Redis is back: the trigger's retry succeeds
        retried = processor.process(batch)
        assert retried.failure is None and retried.response() == {"batchItemFailures": []}
        assert sorted(a["originalTrade"]["tradeId"] for a in sink.analyzed) == ["big-1", "small-1"]
        assert [a["patternType"] for a in sink.alerts] == ["LARGE_ORDER"]
    finally:
        server.stop()


# --- a retry after other partitions have moved on ----------------------------------------------


def _crash(prefix: str, start: int, count: int = 10) -> list[dict[str, Any]]:
    return sell_run(
        prefix, symbol="ADA/USDT", exchange="KRAKEN", at=start, count=count, every_ms=1_000, price_step=0.005
    )


def test_a_retry_after_other_partitions_moved_on_raises_exactly_its_first_alerts(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    # Partition 0 completes a flash crash; its write is lost. Before the trigger retries it,
    # partition 1 moves the market ten minutes on: the crash's trades are now far behind the
    # watermark and evicted from the market window. The retry must still write the crash's alert,
    # identical to what a clean first attempt writes.
    crash = records(_crash("p0-", 0), first_offsets={0: 0})
    later = [records(_crash(f"p1-{n}-", 600_000 + n * 60_000, count=40), first_offsets={1: n * 40}) for n in range(3)]
    control = MemorySink()
    processor(redis_client, redis_server.url, control).process(crash)
    redis_client.flushall()

    sink = FlakySink(failures=1)
    assert processor(redis_client, redis_server.url, sink).process(crash).failure is not None
    for batch in later:
        assert processor(redis_client, redis_server.url, sink).process(batch).failure is None
    members = redis_client.zrange("rk:v2:{se:ADA/USDT@KRAKEN}", 0, -1)
    assert not any(b"p0-" in member for member in members)  # evicted

    retried = processor(redis_client, redis_server.url, sink).process(crash)
    assert retried.failure is None and retried.redelivered == len(crash)
    written = [a for a in sink.alerts if a["triggeredEvents"][0].startswith("p0-")]
    assert stable(written) == stable(control.alerts)
    assert len(control.alerts) == 1
    retried_trades = [a for a in sink.analyzed if a["originalTrade"]["tradeId"].startswith("p0-")]
    assert stable(retried_trades) == stable(control.analyzed)


# --- conflicting duplicates ---------------------------------------------------------------------


@pytest.mark.parametrize("apart", [False, True], ids=["same batch", "later batch"])
def test_a_copy_with_other_content_is_dead_lettered_and_the_first_result_stands(
    redis_client: redis.Redis, redis_server: EmbeddedRedis, apart: bool
) -> None:
    sink = MemorySink()
    proc = processor(redis_client, redis_server.url, sink)
    first = trade("T-1", user="U-C", quantity=20.0, price=50_000.0, at=1_000)  # a $1M large order
    other = {**first, "quantity": 2.0, "notional": 100_000.0}
    batch = records([first, other])
    if apart:
        proc.process(batch[:1])
        outcome = proc.process(batch[1:])
    else:
        outcome = proc.process(batch)
    assert outcome.dead_letters == {"conflicting_duplicate": 1}
    (letter,) = sink.dead_letters
    assert letter.record.offset == 1
    assert "partition 0, offset 0" in letter.detail and "T-1" in letter.detail
    assert dict(letter.headers())["dlq.id"] == b"crypto-trades-0@1"
    assert [a["originalTrade"]["quantity"] for a in sink.analyzed] == [20.0]
    assert [a["patternType"] for a in sink.alerts] == ["LARGE_ORDER"]


def test_an_identical_copy_sent_again_later_gets_the_first_result(
    redis_client: redis.Redis, redis_server: EmbeddedRedis
) -> None:
    sink = MemorySink()
    proc = processor(redis_client, redis_server.url, sink)
    first = trade("T-2", user="U-P", quantity=20.0, price=50_000.0, at=1_000)
    proc.process(records([first]))
    proc.process(records([trade("other", user="U-P", at=2_000)], first_offsets={0: 1}))
    state = dump(redis_client)
    again = proc.process(records([first], first_offsets={0: 2}))  # a producer retry: new offset, same trade
    assert again.redelivered == 1 and not again.dead_letters
    assert stable(sink.analyzed[-1:]) == stable(sink.analyzed[:1])
    assert sink.alerts[-1]["alertId"] == sink.alerts[0]["alertId"]
    assert dump(redis_client) == state  # not placed twice
