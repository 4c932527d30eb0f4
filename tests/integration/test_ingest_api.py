"""functions/ingest_trade and functions/simulate_trades through their handlers, on redis-server and the broker.

POST /trades must put exactly the validated trades on the trades topic (Confluent Avro, keyed by
userId) or nothing at all; the simulation's start -> ticks -> stats -> stop must produce every
claimed trade once, which the Lua claims in Redis guarantee even for ticks that race.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import redis
from kafka import KafkaConsumer, TopicPartition

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.simulation import (
    CONTROL_KEY,
    Claim,
    RunStatus,
    SimulationAlreadyRunning,
    SimulationControl,
    SimulationPlan,
    SimulationTicker,
)
from riskengine.validation import validate_trade
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.api_server import function_module, proxy_event
from riskengine_tools.local.bridge import LocalContext
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.topics import ensure_topics

pytestmark = pytest.mark.integration

CODEC = AvroCodec(FixedIdRegistry())
LATEST_TRADE_SCHEMA_ID = 2
READ_WAIT_S = 20.0


@dataclass(frozen=True)
class Record:
    key: bytes
    trade: dict[str, Any]
    timestamp: int
    schema_id: int


@dataclass
class Functions:
    ingest: ModuleType
    simulate: ModuleType
    bootstrap_servers: str
    topic: str

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = b"" if body is None else json.dumps(body).encode()
        event = proxy_event(method, path, [("Content-Type", "application/json")], data, "127.0.0.1")
        result = self.ingest.lambda_handler(event, LocalContext())
        return result["statusCode"], json.loads(result["body"])

    def tick(self) -> dict[str, Any]:
        return self.simulate.lambda_handler({"source": "aws.events", "detail": {}}, LocalContext())

    def read(self, count: int) -> list[Record]:
        """The first ``count`` records of the topic (tansu's end offsets are unreliable: read until they came)."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap_servers, group_id=None, enable_auto_commit=False)
        consumer.assign([TopicPartition(self.topic, 0)])
        consumer.seek_to_beginning()
        records: list[Record] = []
        deadline = time.monotonic() + READ_WAIT_S
        try:
            while len(records) < count and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=200).values():
                    records.extend(
                        Record(r.key, CODEC.decode(TRADES_SUBJECT, r.value), r.timestamp, int.from_bytes(r.value[1:5]))
                        for r in batch
                    )
        finally:
            consumer.close()
        return records


@pytest.fixture
def functions(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, kafka_broker: EmbeddedBroker
) -> Iterator[Functions]:
    topic = f"trades-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker.bootstrap_servers, [topic])
    env = {
        "REDIS_URL": redis_server.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "TRADES_TOPIC": topic,
    }
    with handler_environment(env):  # closes the functions' producers on exit
        yield Functions(
            function_module("ingest_trade"), function_module("simulate_trades"), env["KAFKA_BOOTSTRAP_SERVERS"], topic
        )


def _trade(trade_id: str, user: str = "USER_1", **changes: Any) -> dict[str, Any]:
    trade = {
        "tradeId": trade_id,
        "userId": user,
        "customerId": f"CUST_{user}",
        "symbol": "ETH/USDT",
        "baseAsset": "ETH",
        "quoteAsset": "USDT",
        "side": "SELL",
        "orderType": "MARKET",
        "quantity": 2.0,
        "price": 3_000.0,
        "notional": 6_000.0,
        "timestamp": int(time.time() * 1000) - 5_000,
        "exchange": "KRAKEN",
        "country": "SG",
    }
    return trade | changes


def test_posted_trades_are_on_the_topic_as_avro_keyed_by_user(functions: Functions) -> None:
    sent = [_trade("T-1", "USER_1"), _trade("T-2", "USER_2", side="BUY")]
    minimal = {key: sent[0][key] for key in ("userId", "customerId", "symbol", "side", "orderType", "exchange")}
    minimal |= {"quantity": 0.5, "price": 3_000.0}
    status, body = functions.call("POST", "/trades", [*sent, minimal])
    assert status == 202
    assert body["tradeIds"][:2] == ["T-1", "T-2"] and body["tradeIds"][2].startswith("api-")

    records = functions.read(3)
    now = int(time.time() * 1000)
    expected = [validate_trade(trade, now_ms=now).record for trade in sent]
    assert [record.trade for record in records[:2]] == expected
    generated = records[2].trade
    assert generated["tradeId"] == body["tradeIds"][2]
    assert (generated["notional"], generated["baseAsset"], generated["quoteAsset"]) == (1_500.0, "ETH", "USDT")
    assert [record.key for record in records] == [b"USER_1", b"USER_2", b"USER_1"]
    assert [record.timestamp for record in records] == [record.trade["timestamp"] for record in records]
    assert {record.schema_id for record in records} == {LATEST_TRADE_SCHEMA_ID}


def test_a_request_with_one_bad_trade_writes_none_of_its_trades(functions: Functions) -> None:
    status, body = functions.call("POST", "/trades", [_trade("GOOD-1"), _trade("BAD-1", price=0), _trade("GOOD-2")])
    assert status == 400
    assert [(error["index"], error["reason"]) for error in body["errors"]] == [(1, "price_not_positive")]
    # The topic is ordered: anything the bad request had written would come before this marker.
    assert functions.call("POST", "/trades", _trade("MARKER"))[0] == 202
    assert [record.trade["tradeId"] for record in functions.read(1)] == ["MARKER"]


def test_simulation_start_ticks_stats_and_stop(functions: Functions) -> None:
    status, started = functions.call(
        "POST", "/simulation/start", {"ratePerSecond": 200, "durationSeconds": 120, "users": 500, "seed": 3}
    )
    assert (status, started["state"]) == (202, "running")
    assert functions.call("POST", "/simulation/start")[0] == 409

    ticks = [functions.tick()]
    deadline = time.monotonic() + 20
    while sum(tick["produced"] for tick in ticks) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)  # let event time pass so trades come due
        ticks.append(functions.tick())
    produced = sum(tick["produced"] for tick in ticks)
    assert produced >= 50

    status, stats = functions.call("GET", "/simulation/stats")
    assert status == 200
    assert (stats["runId"], stats["state"]) == (started["runId"], "running")
    assert stats["claimed"] == stats["produced"] == produced and stats["failed"] == 0
    assert stats["lastTickAtMs"] >= stats["startedAtMs"]

    status, stopped = functions.call("POST", "/simulation/stop")
    assert (status, stopped["state"], stopped["produced"]) == (200, "stopped", produced)
    assert functions.tick()["produced"] == 0

    records = functions.read(produced)
    assert [record.trade["tradeId"] for record in records] == [f"sim-{started['runId']}-{n}" for n in range(produced)]
    for record in records:
        validate_trade(record.trade, now_ms=int(time.time() * 1000))
        assert started["startedAtMs"] <= record.trade["timestamp"] <= stats["lastTickAtMs"]
        assert record.key == record.trade["userId"].encode()


# --- the control state's scripts on redis-server ----------------------------------------------------


PLAN = SimulationPlan(rate_per_s=100.0, duration_s=30, users=300, seed=9)
T0 = 1_763_900_000_000


def test_claims_are_granted_only_from_where_the_run_stands(redis_client: redis.Redis) -> None:
    control = SimulationControl(redis_client)
    run = control.start(PLAN, T0, run_id="r1")
    assert redis_client.pttl(CONTROL_KEY) >= PLAN.duration_ms  # kept a while after the planned end
    assert control.claim("r1", 0, 10, finished=False, now_ms=T0 + 1) is Claim.GRANTED
    assert control.claim("r1", 0, 12, finished=False, now_ms=T0 + 2) is Claim.CONFLICT  # someone read 0 too late
    assert control.claim("r0", 10, 12, finished=False, now_ms=T0 + 2) is Claim.STALE  # another run's tick
    control.record("r1", produced=8, failed=2)
    control.record("r0", produced=99, failed=0)  # ignored: not the current run
    stored = control.read()
    assert stored is not None
    assert (stored.claimed, stored.produced, stored.failed, stored.last_tick_at_ms) == (10, 8, 2, T0 + 1)
    assert (stored.plan, stored.started_at_ms, stored.stops_at_ms) == (PLAN, T0, run.stops_at_ms)

    assert control.claim("r1", 10, 15, finished=True, now_ms=T0 + 3) is Claim.GRANTED
    finished = control.read()
    assert finished is not None
    assert (finished.status, finished.claimed, finished.ended_at_ms) == (RunStatus.FINISHED, 15, T0 + 3)
    assert control.claim("r1", 15, 16, finished=False, now_ms=T0 + 4) is Claim.STALE


def test_one_run_at_a_time_and_a_new_run_starts_from_zero(redis_client: redis.Redis) -> None:
    control = SimulationControl(redis_client)
    control.start(PLAN, T0, run_id="r1")
    control.claim("r1", 0, 7, finished=False, now_ms=T0 + 1)
    with pytest.raises(SimulationAlreadyRunning) as refused:
        control.start(PLAN, T0 + 5, run_id="r2")
    assert refused.value.run_id == "r1"
    stopped = control.stop(T0 + 6)
    assert stopped is not None and (stopped.status, stopped.ended_at_ms) == (RunStatus.STOPPED, T0 + 6)
    assert control.claim("r1", 7, 9, finished=False, now_ms=T0 + 7) is Claim.STALE
    fresh = control.start(PLAN, T0 + 8, run_id="r2")
    assert control.read() == fresh
    assert (fresh.claimed, fresh.produced, fresh.ended_at_ms) == (0, 0, None)


class ListSink:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, trades: list[dict[str, Any]]) -> None:
        self.sent.extend(trades)


def test_tickers_of_two_containers_never_produce_a_trade_twice(redis_client: redis.Redis) -> None:
    control = SimulationControl(redis_client)
    control.start(PLAN, T0, run_id="r1")
    sink = ListSink()
    tickers = [SimulationTicker(SimulationControl(redis_client), sink) for _ in range(2)]
    for step in range(12):
        tickers[step % 3 % 2].tick(T0 + step * 500)  # uneven turns, some at the same instant
    ids = [trade["tradeId"] for trade in sink.sent]
    assert ids == [f"sim-r1-{n}" for n in range(len(ids))] and len(ids) > 100
    stored = control.read()
    assert stored is not None and stored.produced == stored.claimed == len(ids)
