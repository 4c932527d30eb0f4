"""Reading Lambda's failure records: both documented shapes, and clear reasons for anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from riskengine.model import SourceRecord
from riskengine.msk import build_event
from riskengine_tools.redrive import OffsetRange, UnreadableFailureRecord, parse_failure

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:riskengine-index-search:$LATEST"
RECORD = SourceRecord("risk-alerts", 2, 100, 1_749_116_692_330, b"test-key", b"test-value", (("h", b"v"),))


def message(**overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "requestContext": {"functionArn": FUNCTION_ARN, "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "KafkaBatchInfo": {"batchSize": 1, "recordInfo": {"offset": "100", "timestamp": "2019-11-14T18:16:04.835Z"}},
        "payload": build_event([RECORD], bootstrap_servers="b-1:9098"),
    }
    return json.dumps(document | overrides).encode()


def test_a_kafka_destination_message_carries_its_record() -> None:
    failure = parse_failure(message(), "failures-0@7")
    assert (failure.function, failure.condition, failure.invoke_count) == (
        "riskengine-index-search",
        "RetriesExhausted",
        3,
    )
    assert failure.records == (RECORD,)
    assert failure.ranges == ()
    assert failure.position == "failures-0@7"


def test_an_s3_destination_carries_the_event_as_a_string() -> None:
    failure = parse_failure(message(payload=json.dumps(build_event([RECORD]))), "p")
    assert failure.records == (RECORD,)


def test_a_metadata_only_message_gives_coordinates_per_partition() -> None:
    info = {
        "batchSize": 7,
        "recordsInfo": {
            "crypto-trades-0": {"firstRecordOffset": "10", "lastRecordOffset": "12"},
            "my-topic-with-dashes-11": {"firstRecordOffset": "5", "lastRecordOffset": "8"},
        },
    }
    document = json.loads(message(KafkaBatchInfo=info))
    del document["payload"]
    failure = parse_failure(json.dumps(document).encode(), "p")
    assert failure.records == ()
    assert failure.ranges == (OffsetRange("crypto-trades", 0, 10, 12), OffsetRange("my-topic-with-dashes", 11, 5, 8))
    assert str(failure.ranges[0]) == "crypto-trades-0@10..12"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"KafkaBatchInfo": {}}', "no requestContext object"),
        (message(requestContext={"functionArn": "arn:aws:sqs:us-east-1:1:q"}), "not a function ARN"),
        (message(payload={"eventSource": "aws:kinesis", "records": {}}), "payload is not an MSK event"),
        (message(payload={"eventSource": "aws:kafka", "records": {"t-0": [{"offset": 1}]}}), "not an MSK event"),
        (message(payload=None), "neither a payload nor KafkaBatchInfo.recordsInfo"),
        (
            message(
                payload=None,
                KafkaBatchInfo={"recordsInfo": {"t-0": {"firstRecordOffset": "9", "lastRecordOffset": "3"}}},
            ),
            "is not a partition range",
        ),
        (message(payload=None, KafkaBatchInfo={"recordsInfo": {"t-0": {"firstRecordOffset": "x"}}}), "unreadable"),
    ],
)
def test_anything_else_is_unreadable_with_a_reason_and_its_position(value: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFailureRecord, match=reason) as caught:
        parse_failure(value, "failures-1@42")
    assert str(caught.value).startswith("failures-1@42: ")
