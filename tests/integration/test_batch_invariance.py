"""Same answer however it is fed: hypothesis-generated streams against a real redis-server.

A stream is a sequence of records (interleaved users and markets, equal timestamps, event times
skewed backwards up to the windows' lateness and beyond, producer duplicates and conflicting
copies) spread over three partitions keyed by user, with record timestamps that follow the stream.
It is fed through the real pipeline as MSK trigger events of 1, 7, 100 and 1,000 records, and with
batches redelivered (straight away, after the results were lost, and after later batches). The
alerts (ids and contents) and every analysed trade must be identical in every run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from builders import BASE_TS, CODEC, NOW, SUBJECT, trade
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from riskengine.errors import SinkError
from riskengine.model import SourceRecord
from riskengine.msk import build_event, parse_event
from riskengine.pipeline import BatchProcessor
from riskengine.runtime import build_engine
from riskengine.settings import Settings
from riskengine.sinks import MemorySink
from riskengine_tools.local import EmbeddedRedis

pytestmark = pytest.mark.integration

PARTITIONS = 3
USERS = ("U0", "U1", "U2", "U3")
MARKETS = (("ETH/USDT", "BINANCE"), ("ETH/USDT", "OKX"), ("SOL/USDT", "BINANCE"))
USER_LATENESS_MS = 10_000
MARKET_LATENESS_MS = 60_000
# Thresholds small enough that short streams are full of matches, overlapping episodes and ties.
RULES = {
    "RAPID_BURST": {"max_trades": 3, "window_ms": 10_000},
    "FLASH_CRASH": {"sells": 3, "window_ms": 30_000},
    "VOLUME_SPIKE": {"trades": 2, "min_first_notional_usd": 100.0, "window_ms": 30_000},
    "LARGE_ORDER": {"thresholds_usd": {"ETH": 30_000.0, "SOL": 30_000.0}},
}
VOLATILE = ("processedAt", "detectedAt")


@dataclass(frozen=True)
class Step:
    """One record of the stream: a new trade, or another copy of an earlier one."""

    user: int
    market: int
    side: str
    quantity: float
    advance_ms: int  # event-time clock step (0: a tie with the previous trade)
    behind_ms: int  # how far this trade is stamped behind the clock
    copy_of: int | None  # send the trade this many records back again
    conflicting: bool  # the copy's content differs


steps = st.builds(
    Step,
    user=st.integers(0, len(USERS) - 1),
    market=st.integers(0, len(MARKETS) - 1),
    side=st.sampled_from(["BUY", "SELL", "SELL"]),
    quantity=st.sampled_from([1.0, 1.0, 1.05, 2.0, 12.0]),
    advance_ms=st.sampled_from([0, 0, 1, 400, 1_500, 4_000]),
    behind_ms=st.sampled_from([0, 0, 0, 3_000, 9_000, 11_000, 45_000, 70_000]),
    copy_of=st.none() | st.none() | st.integers(1, 8),
    conflicting=st.booleans(),
)


def stream(plan: Sequence[Step]) -> list[SourceRecord]:
    """The records of ``plan``: partition by user, offsets counting up per partition, record
    timestamps following the stream (as the broker's append time would)."""
    trades: list[dict[str, Any]] = []
    records: list[SourceRecord] = []
    offsets = dict.fromkeys(range(PARTITIONS), 0)
    clock = 0
    for index, step in enumerate(plan):
        if step.copy_of is not None and step.copy_of <= len(trades):
            value = dict(trades[-step.copy_of])
            if step.conflicting:
                value["quantity"] += 1.0
                value["notional"] = value["quantity"] * value["price"]
        else:
            clock += step.advance_ms
            symbol, exchange = MARKETS[step.market]
            value = trade(
                f"T{index:03d}",
                user=USERS[step.user],
                symbol=symbol,
                exchange=exchange,
                side=step.side,
                quantity=step.quantity,
                price=2_000.0 if symbol == "ETH/USDT" else 150.0,
                at=60_000 + clock - step.behind_ms,
            )
        trades.append(value)
        partition = USERS.index(value["userId"]) % PARTITIONS
        records.append(
            SourceRecord(
                "crypto-trades",
                partition,
                offsets[partition],
                BASE_TS + index,
                value["userId"].encode(),
                CODEC.encode(SUBJECT, value),
            )
        )
        offsets[partition] += 1
    return records


class LosingSink(MemorySink):
    """Loses every write for which ``lose`` says so, and reports it as failed."""

    def __init__(self, lose: Callable[[int], bool]) -> None:
        super().__init__()
        self.writes = 0
        self._lose = lose

    def send(self, prepared: Any) -> None:
        self.writes += 1
        if self._lose(self.writes):
            raise SinkError("broker unavailable")
        super().send(prepared)


@dataclass(frozen=True)
class Delivery:
    """How a stream is fed: batch size, and which batches are delivered again."""

    batch_size: int
    again: frozenset[int] = frozenset()  # batches redelivered straight after themselves
    lost: frozenset[int] = frozenset()  # batches whose first write is lost (the trigger retries them)
    rewind_after: int | None = None  # after this batch, the trigger restarts two batches earlier


def run(client: redis.Redis, url: str, records: list[SourceRecord], delivery: Delivery) -> MemorySink:
    """Feed ``records`` through the real pipeline as trigger events, on an empty database."""
    client.flushall()
    writes: list[int] = []
    sink = LosingSink(lambda write: write in writes)
    settings = Settings(
        redis_url=url, rules=RULES, user_lateness_ms=USER_LATENESS_MS, market_lateness_ms=MARKET_LATENESS_MS
    )
    processor = BatchProcessor(
        engine=build_engine(client, settings), codec=CODEC, sink=sink, clock_ms=lambda: NOW + 86_400_000
    )
    batches = [records[i : i + delivery.batch_size] for i in range(0, len(records), delivery.batch_size)]
    for number, batch in enumerate(batches):
        if number in delivery.lost:
            writes.append(sink.writes + 1)
            assert processor.process(_through_the_trigger(batch)).failure == "broker unavailable"
        assert processor.process(_through_the_trigger(batch)).failure is None
        if number in delivery.again:
            assert processor.process(_through_the_trigger(batch)).failure is None
        if number == delivery.rewind_after:
            for earlier in batches[max(0, number - 2) : number + 1]:
                assert processor.process(_through_the_trigger(earlier)).failure is None
    return sink


def _through_the_trigger(batch: list[SourceRecord]) -> list[SourceRecord]:
    """The records as the handler receives them: an MSK event, grouped by partition, and parsed back."""
    event = build_event(batch, cluster_arn="arn:aws:kafka:us-east-1:000000000000:cluster/test/1")
    return parse_event(event)


def results(sink: MemorySink) -> tuple[dict[str, Any], dict[str, Any], set[tuple[str, str]]]:
    """Alerts by id and analysed trades by trade id (every copy of one must be identical), dead letters."""
    alerts = _unique(sink.alerts, lambda a: a["alertId"])
    analyzed = _unique(sink.analyzed, lambda a: a["originalTrade"]["tradeId"])
    letters = {(letter.record.position, letter.reason) for letter in sink.dead_letters}
    return alerts, analyzed, letters


def _unique(items: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        stable = {name: value for name, value in item.items() if name not in VOLATILE}
        assert found.setdefault(key(item), stable) == stable, f"{key(item)} was written with two different results"
    return found


@pytest.fixture(scope="module")
def database(redis_server: EmbeddedRedis) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(redis_server.url)
    yield client, redis_server.url
    client.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(steps, min_size=1, max_size=80), data=st.data())
def test_alerts_and_scores_do_not_depend_on_batch_size_or_redelivery(
    database: tuple[redis.Redis, str], plan: list[Step], data: st.DataObject
) -> None:
    client, url = database
    records = stream(plan)
    reference = results(run(client, url, records, Delivery(batch_size=1)))
    alerts, analyzed, letters = reference
    flagged = sum(bool(a["alertIds"]) for a in analyzed.values())
    event(f"alerts: {min(len(alerts), 5)}")
    event(f"trades carrying an alert beyond the one per alert: {min(max(flagged - len(alerts), 0), 3)}")
    event(f"late trades: {min(sum(a['lateEvent'] for a in analyzed.values()), 3)}")
    event(f"conflicting copies: {min(len(letters), 2)}")
    event(f"copies: {min(len(records) - len(analyzed) - len(letters), 3)}")
    target(float(len(alerts)), label="alerts")
    for size in (7, 100, 1_000):
        assert results(run(client, url, records, Delivery(batch_size=size))) == reference, f"batch size {size}"
    batches = -(-len(records) // 7)
    chosen = data.draw(st.frozensets(st.integers(0, batches - 1), max_size=3), label="redelivered batches")
    lost = data.draw(st.frozensets(st.integers(0, batches - 1), max_size=3), label="batches whose write is lost")
    rewind = data.draw(st.integers(0, batches - 1), label="rewind after batch")
    delivery = Delivery(batch_size=7, again=chosen, lost=lost, rewind_after=rewind)
    assert results(run(client, url, records, delivery)) == reference, delivery
