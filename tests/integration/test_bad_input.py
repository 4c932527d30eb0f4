"""Poison records are dead-lettered with their reason and source position; the valid records of
the same batch are all scored and the batch is acknowledged (no partial-batch failures)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from riskengine import ENGINE_VERSION
from riskengine.codec import AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine.pipeline import BatchProcessor
from riskengine.runtime import build_engine
from riskengine.settings import Settings
from riskengine.sinks import MemorySink
from riskengine_tools.local import EmbeddedRedis
from riskengine_tools.local.bridge import LOCAL_CLUSTER_ARN, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.paths import function_handler

pytestmark = pytest.mark.integration

BASE_TS = 1_763_900_000_000
NOW = BASE_TS + 3_600_000
SUBJECT = "crypto-trades-value"
CODEC = AvroCodec(FixedIdRegistry())
SOURCE_HEADERS = (("source", b"integration-test"),)


def trade(
    trade_id: str, *, user: str = "U1", quantity: float = 1.0, price: float = 100.0, at: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "tradeId": trade_id,
        "userId": user,
        "customerId": f"C-{user}",
        "symbol": "BTC/USDT",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "side": "BUY",
        "orderType": "MARKET",
        "quantity": quantity,
        "price": price,
        "notional": quantity * price,
        "timestamp": BASE_TS + at,
        "exchange": "BINANCE",
        **extra,
    }


def avro(t: dict[str, Any]) -> bytes:
    return CODEC.encode(SUBJECT, t)


def with_schema_id(frame: bytes, schema_id: int) -> bytes:
    return frame[:1] + schema_id.to_bytes(4, "big") + frame[5:]


def _without(t: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in t.items() if k != name}


# (value, expected dead-letter reason or None for a valid record, trade id when valid)
MIXED: list[tuple[bytes | None, str | None, str | None]] = [
    (avro(trade("ok-1", at=0)), None, "ok-1"),
    (b"\xde\xad\xbe\xef this is not a trade", "bad_magic_byte", None),
    (with_schema_id(avro(trade("unknown-id", at=1_000)), 999), "unknown_schema_id", None),
    (json.dumps(_without(trade("no-user", at=1_000), "userId")).encode(), "missing_field", None),
    (avro(trade("zero-qty", quantity=0.0, at=1_000)), "quantity_not_positive", None),
    (avro(trade("ok-2", user="U2", at=2_000)), None, "ok-2"),
    (None, "empty_value", None),
    (avro(trade("cut-short", at=2_000))[:20], "truncated", None),
    (json.dumps(trade("ok-json", user="U3", at=3_000)).encode(), None, "ok-json"),
    (b'{"tradeId": "broken', "json_decode_error", None),
    (avro(trade("future", at=NOW - BASE_TS + 300_001)), "timestamp_in_future", None),
    (avro(trade("bad-symbol", symbol="BTCUSDT", at=3_000)), "bad_symbol", None),
    (avro(trade("ok-large", user="U4", quantity=20.0, price=50_000.0, at=4_000)), None, "ok-large"),
    # What slipped through before: a timestamp in seconds, a 10,000-character userId, an infinite
    # quantity x price, and a copy of ok-1 whose content differs (the first copy's result stands).
    (avro(trade("in-seconds", at=0) | {"timestamp": BASE_TS // 1_000}), "timestamp_too_old", None),
    (avro(trade("long-user", user="U" * 10_000, at=4_000)), "field_too_long", None),
    (
        avro(trade("overflow", at=4_000) | {"quantity": 1e300, "price": 1e300, "notional": 5e5}),
        "product_not_finite",
        None,
    ),
    (avro(trade("ok-1", quantity=3.0, at=0)), "conflicting_duplicate", None),
]


def _records() -> list[SourceRecord]:
    return [
        SourceRecord("crypto-trades", i % 2, 500 + i, BASE_TS + i, f"key-{i}".encode(), value, SOURCE_HEADERS)
        for i, (value, _, _) in enumerate(MIXED)
    ]


@pytest.fixture
def processor(redis_client: redis.Redis, redis_server: EmbeddedRedis) -> BatchProcessor:
    engine = build_engine(redis_client, Settings(redis_url=redis_server.url))
    return BatchProcessor(engine=engine, codec=CODEC, sink=MemorySink(), clock_ms=lambda: NOW)


def _sink(processor: BatchProcessor) -> MemorySink:
    assert isinstance(processor.sink, MemorySink)
    return processor.sink


def test_bad_records_are_dead_lettered_and_valid_ones_all_scored(processor: BatchProcessor) -> None:
    batch = _records()
    outcome = processor.process(batch)
    sink = _sink(processor)

    assert outcome.failure is None
    assert outcome.response() == {"batchItemFailures": []}
    assert outcome.received == len(MIXED)

    valid_ids = [tid for _, reason, tid in MIXED if reason is None]
    assert outcome.scored == len(valid_ids)
    assert [a["originalTrade"]["tradeId"] for a in sink.analyzed] == valid_ids
    assert all(isinstance(a["riskScore"], float) for a in sink.analyzed)
    assert [(a["patternType"], a["triggeredEvents"]) for a in sink.alerts] == [("LARGE_ORDER", ["ok-large"])]

    expected = [(record, reason) for record, (_, reason, _) in zip(batch, MIXED, strict=True) if reason]
    assert outcome.dead_letters == Counter(reason for _, reason in expected)
    assert [(letter.record, letter.reason) for letter in sink.dead_letters] == expected
    for letter in sink.dead_letters:
        assert letter.detail, letter.reason
        headers = letter.headers()
        assert headers[: len(SOURCE_HEADERS)] == list(SOURCE_HEADERS)  # original headers kept, first
        values = dict(headers[len(SOURCE_HEADERS) :])
        assert values["dlq.id"] == f"crypto-trades-{letter.record.partition}@{letter.record.offset}".encode()
        assert values["dlq.reason"] == letter.reason.encode()
        assert values["dlq.detail"] == letter.detail.encode()
        assert values["dlq.source.topic"] == b"crypto-trades"
        assert values["dlq.source.partition"] == str(letter.record.partition).encode()
        assert values["dlq.source.offset"] == str(letter.record.offset).encode()
        assert values["dlq.source.timestamp"] == str(letter.record.timestamp).encode()
        assert values["dlq.engine.version"] == ENGINE_VERSION.encode()


def test_dead_letter_details_tell_the_producer_what_to_fix(processor: BatchProcessor) -> None:
    processor.process(_records())
    details = {letter.reason: letter.detail for letter in _sink(processor).dead_letters}
    assert "999" in details["unknown_schema_id"]
    assert "'userId'" in details["missing_field"]
    assert "quantity" in details["quantity_not_positive"]
    assert "in the future" in details["timestamp_in_future"]
    assert "0xde" in details["bad_magic_byte"]
    assert "BTCUSDT" in details["bad_symbol"]
    assert "seconds" in details["timestamp_too_old"]
    assert "10000" in details["field_too_long"].replace(",", "") and "'userId'" in details["field_too_long"]
    assert "overflows" in details["product_not_finite"]
    assert "ok-1" in details["conflicting_duplicate"] and "partition 0, offset 500" in details["conflicting_duplicate"]


def test_positions_in_the_dead_letter_headers_match_the_source_records(processor: BatchProcessor) -> None:
    processor.process(_records())
    positions = {
        (dict(letter.headers())["dlq.source.partition"], dict(letter.headers())["dlq.source.offset"])
        for letter in _sink(processor).dead_letters
    }
    assert positions == {
        (b"1", b"501"),
        (b"0", b"502"),
        (b"1", b"503"),
        (b"0", b"504"),
        (b"0", b"506"),
        (b"1", b"507"),
        (b"1", b"509"),
        (b"0", b"510"),
        (b"1", b"511"),
        (b"1", b"513"),
        (b"0", b"514"),
        (b"1", b"515"),
        (b"0", b"516"),
    }


def test_a_batch_of_only_bad_records_is_acknowledged_and_touches_no_window(
    processor: BatchProcessor, redis_client: redis.Redis
) -> None:
    # A conflicting copy is only bad next to its first copy: alone, it is a trade like any other.
    bad = [
        r for r, (_, reason, _) in zip(_records(), MIXED, strict=True) if reason not in (None, "conflicting_duplicate")
    ]
    outcome = processor.process(bad)
    assert outcome.failure is None
    assert outcome.response() == {"batchItemFailures": []}
    assert outcome.scored == 0
    assert sum(outcome.dead_letters.values()) == len(bad)
    assert _sink(processor).analyzed == []
    assert redis_client.keys("*") == []


def test_a_pair_quoted_in_btc_reaches_large_order_with_its_usd_notional_from_the_trigger_event(
    redis_client: redis.Redis, redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    # ETH/BTC: price in BTC, notional in USD (0.05 BTC x 100 ETH = 5 BTC, about $300,000), above
    # ETH's $250,000 threshold. Fed to the real handler as an MSK trigger event.
    eth_btc = trade("eth-btc", user="U-Q", quantity=100.0, price=0.05, at=1_000) | {
        "symbol": "ETH/BTC",
        "baseAsset": "ETH",
        "quoteAsset": "BTC",
        "notional": 300_000.0,
    }
    small = eth_btc | {"tradeId": "eth-btc-small", "quantity": 1.0, "notional": 3_000.0, "timestamp": BASE_TS + 2_000}
    records = [
        SourceRecord("crypto-trades", 0, i, t["timestamp"], b"U-Q", avro(t)) for i, t in enumerate((eth_btc, small))
    ]
    env = {"REDIS_URL": redis_server.url, "RISKENGINE_SINK": f"jsonl:{tmp_path}"}
    with handler_environment(env):
        response = load_handler(function_handler("score_trades"))(build_event(records, cluster_arn=LOCAL_CLUSTER_ARN))
    assert response == {"batchItemFailures": []}
    assert (tmp_path / "rejected.jsonl").read_text() == ""
    (alert,) = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert (alert["patternType"], alert["triggeredEvents"], alert["symbol"]) == ("LARGE_ORDER", ["eth-btc"], "ETH/BTC")
    assert alert["metrics"] == {"notionalUsd": 300_000.0, "thresholdUsd": 250_000.0}
    analyzed = {json.loads(line)["originalTrade"]["tradeId"] for line in (tmp_path / "analyzed.jsonl").open()}
    assert analyzed == {"eth-btc", "eth-btc-small"}
