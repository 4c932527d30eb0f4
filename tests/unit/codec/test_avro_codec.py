"""AvroCodec: framing, schema evolution on read, the JSON escape hatch and error mapping."""

from __future__ import annotations

import contextlib
import io
import struct
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.codec import (
    ALERTS_SUBJECT,
    ANALYZED_TRADES_SUBJECT,
    ORDERS_SUBJECT,
    TRADES_SUBJECT,
    AvroCodec,
    AvroDecodeError,
    AvroEncodeError,
    CodecError,
    FixedIdRegistry,
    HeadEncoded,
    JsonDecodeError,
    MalformedFrame,
    UnknownSchemaId,
    UnknownSubject,
)

REGISTRY = FixedIdRegistry()
FUZZ_CODEC = AvroCodec(REGISTRY)  # shared, so fuzzing also exercises the cached paths
SUBJECTS = [TRADES_SUBJECT, ORDERS_SUBJECT, ANALYZED_TRADES_SUBJECT, ALERTS_SUBJECT]
V2_ONLY_FIELDS = ["walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId"]

TRADE_V1: dict[str, Any] = {
    "tradeId": "t-1",
    "userId": "u-1",
    "customerId": "c-1",
    "symbol": "BTC-USDT",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "side": "SELL",
    "orderType": "STOP_LOSS",
    "quantity": 0.5,
    "price": 64000.0,
    "notional": 32000.0,
    "timestamp": 1_732_500_000_123,
    "exchange": "BINANCE",
}
TRADE = {
    **TRADE_V1,
    "walletAddress": "0xabc",
    "sessionId": "s-1",
    "ipAddress": "203.0.113.7",
    "country": "DE",
    "orderId": "o-1",
    "counterpartyUserId": None,
}
ANALYZED = {
    "originalTrade": TRADE,
    "riskScore": 0.82,
    "finalRiskLevel": "HIGH",
    "triggeredPatterns": ["WASH_TRADING"],
    "alertIds": ["a-1"],
    "volumeAnalysis": {
        "notional": 32000.0,
        "baselineTrades": 0,
        "baselineMean": None,
        "baselineStd": None,
        "zScore": 0.0,
    },
    "behavioralAnalysis": {
        "patternCount": 1,
        "maxPatternStrength": 0.9,
        "patternStrengths": {"WASH_TRADING": 0.9},
    },
    "marketImpactAnalysis": {"symbolVolume5m": 1e6, "impactRatio": 0.032},
    "complianceFlags": [],
    "riskMitigationActions": ["MANUAL_REVIEW"],
    "scoreContributions": {"patterns": 0.6, "volume": 0.22},
    "lateEvent": False,
    "processedAt": 1_732_500_000_200,
    "engineVersion": "0.1.0",
}
ALERT = {
    "alertId": "a-1",
    "patternType": "WASH_TRADING",
    "rule": "WASH_TRADING@1",
    "timestamp": 1_732_500_000_123,
    "detectedAt": 1_732_500_000_200,
    "severity": "CRITICAL",
    "userId": "u-1",
    "customerId": "c-1",
    "symbol": "BTC-USDT",
    "exchange": "BINANCE",
    "description": "3 round trips within 60s",
    "recommendedAction": "FREEZE_ACCOUNT_PENDING_REVIEW",
    "triggeredEvents": ["t-0", "t-1"],
    "metrics": {"roundTrips": 3.0, "threshold": 2.0},
    "acknowledged": False,
}
ORDER = {
    "eventId": "e-1",
    "orderId": "o-1",
    "userId": "u-1",
    "customerId": "c-1",
    "symbol": "BTC/USDT",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "side": "BUY",
    "orderType": "LIMIT",
    "eventType": "PARTIAL_FILL",
    "price": 64000.0,
    "quantity": 0.25,
    "filledQuantity": 0.75,
    "notional": 16000.0,
    "timestamp": 1_732_500_000_123,
    "exchange": "BINANCE",
    "walletAddress": None,
    "ipAddress": "203.0.113.7",
    "country": "DE",
    "sessionId": "s-1",
}
ORDER_OPTIONAL_FIELDS = ["walletAddress", "ipAddress", "country", "sessionId"]
SAMPLES = {TRADES_SUBJECT: TRADE, ORDERS_SUBJECT: ORDER, ANALYZED_TRADES_SUBJECT: ANALYZED, ALERTS_SUBJECT: ALERT}


@pytest.fixture
def codec() -> AvroCodec:
    return AvroCodec(REGISTRY)


def frame(schema_id: int, record: dict[str, Any]) -> bytes:
    """Confluent-frame ``record`` with the schema of ``schema_id``, independently of the codec."""
    buf = io.BytesIO()
    buf.write(struct.pack(">BI", 0, schema_id))
    fastavro.schemaless_writer(buf, REGISTRY.schema_for_id(schema_id), record)
    return buf.getvalue()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_round_trip_uses_the_latest_schema_id(codec: AvroCodec, subject: str) -> None:
    value = codec.encode(subject, SAMPLES[subject])
    assert value[:5] == struct.pack(">BI", 0, REGISTRY.latest(subject)[0])
    assert codec.decode(subject, value) == SAMPLES[subject]


def test_encode_many_matches_encode(codec: AvroCodec) -> None:
    trades = [{**TRADE, "tradeId": f"t-{i}"} for i in range(3)]
    assert codec.encode_many(TRADES_SUBJECT, trades) == [codec.encode(TRADES_SUBJECT, t) for t in trades]


def test_decoder_is_bound_once_per_subject(codec: AvroCodec) -> None:
    decoder = codec.decoder(TRADES_SUBJECT)
    assert codec.decoder(TRADES_SUBJECT) is decoder
    assert decoder(codec.encode(TRADES_SUBJECT, TRADE)) == TRADE


def test_timestamp_decodes_as_epoch_millis_int(codec: AvroCodec) -> None:
    decoded = codec.decode(TRADES_SUBJECT, codec.encode(TRADES_SUBJECT, TRADE))
    assert type(decoded["timestamp"]) is int
    assert decoded["timestamp"] == TRADE["timestamp"]


def test_v1_trade_is_read_with_the_v2_schema(codec: AvroCodec) -> None:
    decoded = codec.decode(TRADES_SUBJECT, frame(1, TRADE_V1))
    assert decoded == {**TRADE_V1, **dict.fromkeys(V2_ONLY_FIELDS)}


def test_missing_optional_fields_take_their_default_on_encode(codec: AvroCodec) -> None:
    decoded = codec.decode(TRADES_SUBJECT, codec.encode(TRADES_SUBJECT, TRADE_V1))
    assert all(decoded[name] is None for name in V2_ONLY_FIELDS)


def test_orders_are_framed_with_their_own_schema_id(codec: AvroCodec) -> None:
    value = codec.encode(ORDERS_SUBJECT, ORDER)
    assert value[:5] == struct.pack(">BI", 0, 5)  # crypto-orders-value v1 in schemas/ids.json
    assert codec.decode(ORDERS_SUBJECT, frame(5, ORDER)) == ORDER


def test_an_order_without_its_optional_fields_decodes_with_nulls(codec: AvroCodec) -> None:
    required = {name: value for name, value in ORDER.items() if name not in ORDER_OPTIONAL_FIELDS}
    decoded = codec.decode(ORDERS_SUBJECT, codec.encode(ORDERS_SUBJECT, required))
    assert decoded == required | dict.fromkeys(ORDER_OPTIONAL_FIELDS)


def test_a_trade_is_not_read_as_an_order_nor_an_order_as_a_trade(codec: AvroCodec) -> None:
    with pytest.raises(AvroDecodeError):
        codec.decode(ORDERS_SUBJECT, codec.encode(TRADES_SUBJECT, TRADE))
    with pytest.raises(AvroDecodeError):
        codec.decode(TRADES_SUBJECT, codec.encode(ORDERS_SUBJECT, ORDER))


@pytest.mark.parametrize("subject", [TRADES_SUBJECT, ORDERS_SUBJECT])
@pytest.mark.parametrize("padding", [b"", b" \n\t"], ids=["bare", "padded"])
def test_json_object_is_accepted_as_is(codec: AvroCodec, padding: bytes, subject: str) -> None:
    """kcat-friendly: a hand-written JSON trade or order is returned untouched (no schema applied)."""
    value = padding + b'{"tradeId": "t-9", "notional": 5}' + padding
    assert codec.decode(subject, value) == {"tradeId": "t-9", "notional": 5}


@pytest.mark.parametrize(
    ("value", "error", "reason"),
    [
        (b"", MalformedFrame, "empty_value"),
        (None, MalformedFrame, "empty_value"),
        (b" \n ", MalformedFrame, "empty_value"),
        (b"\x01\x00\x00\x00\x02abc", MalformedFrame, "bad_magic_byte"),
        (b"hello world", MalformedFrame, "bad_magic_byte"),
        (b"\x00\x00\x00", MalformedFrame, "truncated"),
        (b"\x00\x00\x00\x03\xe7\x02", UnknownSchemaId, "unknown_schema_id"),
        (b'{"tradeId": ', JsonDecodeError, "json_decode_error"),
        (b"{\xff\xfe}", JsonDecodeError, "json_decode_error"),
        (b"\x00\x00\x00\x00\x02" + b"\xff" * 40, AvroDecodeError, "avro_decode_error"),
    ],
    ids=[
        "empty",
        "none",
        "blank",
        "magic",
        "text",
        "short-header",
        "unknown-id",
        "bad-json",
        "bad-utf8-json",
        "garbage-body",
    ],
)
@pytest.mark.parametrize("subject", [TRADES_SUBJECT, ORDERS_SUBJECT])
def test_bad_values_raise_the_specific_error(
    codec: AvroCodec, value: bytes, error: type[CodecError], reason: str, subject: str
) -> None:
    with pytest.raises(error) as caught:
        codec.decode(subject, value)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_truncated_body_is_an_avro_error_with_the_cause_chained(codec: AvroCodec) -> None:
    value = codec.encode(TRADES_SUBJECT, TRADE)
    with pytest.raises(AvroDecodeError) as caught:
        codec.decode(TRADES_SUBJECT, value[:-4])
    assert caught.value.reason == "truncated"
    assert isinstance(caught.value.__cause__, EOFError)


def test_trailing_bytes_mean_a_wrong_writer_schema(codec: AvroCodec) -> None:
    with pytest.raises(AvroDecodeError, match="trailing bytes") as caught:
        codec.decode(TRADES_SUBJECT, codec.encode(TRADES_SUBJECT, TRADE) + b"\x00")
    assert caught.value.reason == "avro_decode_error"


def test_frame_of_another_subject_does_not_resolve(codec: AvroCodec) -> None:
    with pytest.raises(AvroDecodeError):
        codec.decode(TRADES_SUBJECT, codec.encode(ALERTS_SUBJECT, ALERT))


@pytest.mark.parametrize(
    "record",
    [
        {**TRADE, "side": "HOLD"},
        {**TRADE, "quantity": "lots"},
        {k: v for k, v in TRADE.items() if k != "userId"},
    ],
    ids=["bad-enum", "bad-type", "missing-required"],
)
def test_encoding_a_bad_record_raises_avro_encode_error(codec: AvroCodec, record: dict[str, Any]) -> None:
    with pytest.raises(AvroEncodeError) as caught:
        codec.encode(TRADES_SUBJECT, record)
    assert caught.value.reason == "avro_encode_error"


def test_unknown_subject_is_a_codec_error(codec: AvroCodec) -> None:
    with pytest.raises(UnknownSubject):
        codec.decode("nope-value", b"\x00\x00\x00\x00\x02")


def test_codec_error_str_carries_reason_and_detail() -> None:
    assert str(MalformedFrame("3-byte value", reason="truncated")) == "truncated: 3-byte value"


@pytest.mark.parametrize("subject", SUBJECTS)
@settings(max_examples=400, deadline=None)
@given(value=st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_codec_errors(subject: str, value: bytes) -> None:
    with contextlib.suppress(CodecError):
        assert isinstance(FUZZ_CODEC.decode(subject, value), dict)


@pytest.mark.parametrize("subject", SUBJECTS)
@settings(max_examples=400, deadline=None)
@given(schema_id=st.sampled_from([1, 2, 3, 4, 5]), body=st.binary(max_size=300))
def test_arbitrary_bodies_behind_valid_headers_only_raise_codec_errors(
    subject: str, schema_id: int, body: bytes
) -> None:
    with contextlib.suppress(CodecError):
        assert isinstance(FUZZ_CODEC.decode(subject, struct.pack(">BI", 0, schema_id) + body), dict)


# --- splicing an already-encoded trade into the analysed record --------------------------------


@settings(max_examples=200)
@given(
    quantity=st.floats(min_value=1e-9, max_value=1e9),
    country=st.none() | st.sampled_from(["US", "KP"]),
    score=st.floats(min_value=0, max_value=1),
    patterns=st.lists(st.sampled_from(["RAPID_BURST", "FLASH_CRASH"]), unique=True),
    late=st.booleans(),
)
def test_a_head_encoded_record_encodes_to_exactly_the_bytes_of_the_full_record(
    quantity: float, country: str | None, score: float, patterns: list[str], late: bool
) -> None:
    trade = TRADE | {"quantity": quantity, "country": country}
    body = FUZZ_CODEC.canonical_body(TRADES_SUBJECT, FUZZ_CODEC.encode(TRADES_SUBJECT, trade), trade)
    record = ANALYZED | {"originalTrade": trade, "riskScore": score, "triggeredPatterns": patterns, "lateEvent": late}
    spliced = FUZZ_CODEC.encode(ANALYZED_TRADES_SUBJECT, HeadEncoded(record, body, TRADES_SUBJECT))
    assert spliced == FUZZ_CODEC.encode(ANALYZED_TRADES_SUBJECT, record)


def test_a_head_of_another_schema_is_not_spliced_but_encoded(codec: AvroCodec) -> None:
    record = ANALYZED | {"originalTrade": TRADE}
    wrong_head = HeadEncoded(record, b"not the trade", ALERTS_SUBJECT)  # alerts are not the first field's type
    assert codec.encode(ANALYZED_TRADES_SUBJECT, wrong_head) == codec.encode(ANALYZED_TRADES_SUBJECT, record)
    assert (
        codec.decode(ANALYZED_TRADES_SUBJECT, codec.encode(ANALYZED_TRADES_SUBJECT, wrong_head))["originalTrade"][
            "tradeId"
        ]
        == TRADE["tradeId"]
    )
