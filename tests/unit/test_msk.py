"""The MSK trigger contract: the reference event parses, build/parse round-trip, partial-batch
responses have the documented shape, and a malformed event is a MalformedEvent."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.codec import AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.msk import MalformedEvent, _b64, arrival_order, batch_item_failures, build_event, parse_event
from riskengine.validation import validate_trade


def _reference_path() -> Path:
    """The exact MSK trigger event (a copy of shared/reference/msk-event.json kept with the tests)."""
    return Path(__file__).resolve().parents[1] / "fixtures" / "msk-event.json"


@pytest.fixture(scope="module")
def reference_event() -> dict[str, Any]:
    path = _reference_path()
    event = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(event, dict), f"{path} does not hold a JSON object"
    return event


def _record(
    partition: int,
    offset: int,
    *,
    value: bytes | None = b"v",
    key: bytes | None = b"k",
    headers: tuple[tuple[str, bytes], ...] = (),
    topic: str = "crypto-trades",
) -> SourceRecord:
    return SourceRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=1_763_900_000_000 + offset,
        key=key,
        value=value,
        headers=headers,
    )


# --- the reference event ---------------------------------------------------------------------


def test_the_reference_event_parses_into_its_one_record(reference_event: dict[str, Any]) -> None:
    records = parse_event(reference_event)
    assert records == [
        SourceRecord(
            topic="crypto-trades",
            partition=0,
            offset=15,
            timestamp=1_763_900_000_123,
            key=b"USER_001",
            value=base64.b64decode(reference_event["records"]["crypto-trades-0"][0]["value"]),
            headers=(("source", b"simulator"),),
        )
    ]
    assert records[0].position == "crypto-trades-0@15"


def test_the_reference_value_decodes_and_validates(reference_event: dict[str, Any]) -> None:
    (record,) = parse_event(reference_event)
    assert record.value is not None
    raw = AvroCodec(FixedIdRegistry()).decode("crypto-trades-value", record.value)
    trade = validate_trade(raw, now_ms=record.timestamp)
    assert (trade.trade_id, trade.user_id, trade.symbol, trade.side.value) == ("T-1", "USER_001", "BTC/USDT", "BUY")
    assert (trade.quantity, trade.price, trade.notional) == (0.5, 45_000.0, 22_500.0)
    assert trade.timestamp == 1_763_900_000_000


def test_building_the_parsed_reference_event_gives_it_back(reference_event: dict[str, Any]) -> None:
    rebuilt = build_event(
        parse_event(reference_event),
        cluster_arn=reference_event["eventSourceArn"],
        bootstrap_servers=reference_event["bootstrapServers"],
    )
    assert rebuilt == reference_event


def test_a_self_managed_kafka_event_is_accepted(reference_event: dict[str, Any]) -> None:
    event = copy.deepcopy(reference_event)
    event["eventSource"] = "SelfManagedKafka"
    del event["eventSourceArn"]
    assert [r.offset for r in parse_event(event)] == [15]


# --- build_event / parse_event round trip ----------------------------------------------------


def test_build_then_parse_round_trips_every_field() -> None:
    records = [
        _record(0, 7, headers=(("a", b"\x00\xff"), ("a", b"again"), ("empty", b""))),
        _record(0, 8, key=None),
        _record(3, 2, value=None),
        _record(0, 9, value=b"\x00\x00\x00\x00\x02binary"),
        _record(1, 0, topic="other"),
    ]
    event = build_event(records, cluster_arn="arn:aws:kafka:eu-west-1:1:cluster/x/y")
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == "arn:aws:kafka:eu-west-1:1:cluster/x/y"
    assert sorted(event["records"]) == ["crypto-trades-0", "crypto-trades-3", "other-1"]
    assert event["records"]["crypto-trades-0"][0]["headers"] == [{"a": [0, 255]}, {"a": list(b"again")}, {"empty": []}]
    assert event["records"]["crypto-trades-0"][1]["key"] is None
    assert event["records"]["crypto-trades-3"][0]["value"] is None
    json.dumps(event)  # the event is plain JSON, as the trigger sends it
    parsed = parse_event(event)
    assert sorted(parsed, key=lambda r: (r.topic, r.partition, r.offset)) == sorted(
        records, key=lambda r: (r.topic, r.partition, r.offset)
    )


def test_parse_orders_each_partition_by_offset() -> None:
    event = build_event([_record(0, 12), _record(1, 5), _record(0, 10), _record(1, 3), _record(0, 11)])
    assert event["eventSource"] == "SelfManagedKafka"
    assert "eventSourceArn" not in event
    parsed = parse_event(event)
    assert [(r.partition, r.offset) for r in parsed] == [(0, 10), (0, 11), (0, 12), (1, 3), (1, 5)]


def test_an_empty_event_has_no_records() -> None:
    assert parse_event(build_event([])) == []


# --- partial batch responses -----------------------------------------------------------------


def test_batch_item_failures_has_the_documented_shape() -> None:
    response = batch_item_failures([_record(0, 17), _record(0, 15), _record(0, 16)])
    assert response == {"batchItemFailures": [{"itemIdentifier": {"partition": "crypto-trades-0", "offset": 15}}]}


def test_batch_item_failures_names_the_earliest_offset_of_every_partition() -> None:
    records = [_record(2, 40), _record(0, 9), _record(2, 38), _record(0, 11), _record(1, 0, topic="audit")]
    assert batch_item_failures(records) == {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "audit-1", "offset": 0}},
            {"itemIdentifier": {"partition": "crypto-trades-0", "offset": 9}},
            {"itemIdentifier": {"partition": "crypto-trades-2", "offset": 38}},
        ]
    }


def test_no_failed_records_is_an_empty_response() -> None:
    assert batch_item_failures([]) == {"batchItemFailures": []}


# --- malformed events ------------------------------------------------------------------------


def _mutated(reference_event: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    event = copy.deepcopy(reference_event)
    target: Any = event
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return event


_DELETE = object()
_RECORD: tuple[str | int, ...] = ("records", "crypto-trades-0", 0)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("eventSource",), "aws:sqs"),
        (("eventSource",), _DELETE),
        (("records",), _DELETE),
        (("records",), [{"topic": "crypto-trades"}]),
        (("records",), "crypto-trades-0"),
        ((*_RECORD, "topic"), _DELETE),
        ((*_RECORD, "partition"), _DELETE),
        ((*_RECORD, "offset"), _DELETE),
        ((*_RECORD, "offset"), "fifteen"),
        ((*_RECORD, "partition"), None),
        ((*_RECORD, "timestamp"), "soon"),
        ((*_RECORD, "value"), "not base64!"),
        ((*_RECORD, "value"), 12345),
        ((*_RECORD, "key"), "@@@@"),
        ((*_RECORD, "headers"), [{"source": "simulator"}]),
        ((*_RECORD, "headers"), [{"source": [300]}]),
        ((*_RECORD, "headers"), 7),
        (("records", "crypto-trades-0", 0), "not a record"),
        (("records", "crypto-trades-0", 0), None),
    ],
)
def test_a_malformed_event_raises_malformed_event(
    reference_event: dict[str, Any], path: tuple[str | int, ...], value: Any
) -> None:
    with pytest.raises(MalformedEvent) as info:
        parse_event(_mutated(reference_event, path, value))
    assert info.value.reason == "malformed_event"


@pytest.mark.parametrize("batch", [None, 5])
def test_a_partition_entry_that_is_not_a_list_raises_malformed_event(
    reference_event: dict[str, Any], batch: Any
) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(_mutated(reference_event, ("records", "crypto-trades-0"), batch))


def _stamped(partition: int, offset: int, timestamp: int) -> SourceRecord:
    return SourceRecord("crypto-trades", partition, offset, timestamp, None, b"v")


def test_arrival_order_keeps_each_partition_in_offset_order_and_merges_them_by_record_timestamp() -> None:
    records = [_stamped(1, 7, 30), _stamped(0, 3, 10), _stamped(1, 6, 20), _stamped(0, 4, 40), _stamped(2, 0, 20)]
    ordered = [(r.partition, r.offset) for r in arrival_order(records)]
    assert ordered == [(0, 3), (1, 6), (2, 0), (1, 7), (0, 4)]


def test_arrival_order_never_reorders_a_partition_even_when_its_timestamps_go_back() -> None:
    records = [_stamped(0, 1, 50), _stamped(0, 2, 10), _stamped(1, 0, 30)]
    assert [(r.partition, r.offset) for r in arrival_order(records)] == [(1, 0), (0, 1), (0, 2)]


def test_arrival_order_does_not_depend_on_how_the_event_lists_partitions() -> None:
    records = [_stamped(p, o, o * 10 + p) for p in range(3) for o in range(4)]
    event = build_event(records)
    shuffled = dict(reversed(list(event["records"].items())))
    assert arrival_order(parse_event(event)) == arrival_order(parse_event(event | {"records": shuffled}))


def test_an_offset_beyond_what_arrival_keys_can_order_is_a_malformed_event() -> None:
    event = build_event([_stamped(0, 0, 0)])
    next(iter(event["records"].values()))[0]["offset"] = 16**13
    with pytest.raises(MalformedEvent, match="offset"):
        parse_event(event)


def _outcome(decode: Any, value: str) -> tuple[str, Any]:
    try:
        return "ok", decode(value)
    except Exception as exc:
        return "error", repr(exc)


@settings(max_examples=2000, deadline=None)
@given(value=st.text(alphabet="AQw09+/=\n -_é", max_size=12))
def test_base64_values_decode_and_fail_as_b64decode_validating(value: str) -> None:
    assert _outcome(_b64, value) == _outcome(lambda v: base64.b64decode(v, validate=True), value)


def test_headers_that_are_not_a_list_make_the_record_malformed() -> None:
    event = build_event([SourceRecord("t", 0, 1, 0, None, b"v")])
    event["records"]["t-0"][0]["headers"] = None
    with pytest.raises(MalformedEvent):
        parse_event(event)
