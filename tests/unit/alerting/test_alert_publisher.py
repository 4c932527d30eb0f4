"""publish_batch in tens, retry classification and bounded backoff, against a fake SNS client."""

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from test_alert_messages import alert

from riskengine.alerting import SnsPublisher, format_alert, is_retryable_entry, is_retryable_error
from riskengine.alerting.publisher import chunks


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PublishBatch")


class FakeSns:
    """Answers each call with the next scripted behaviour: 'ok', an exception, or a dict Id -> failure."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[list[dict[str, Any]]] = []

    def publish_batch(self, **kwargs: Any) -> dict[str, Any]:
        entries = kwargs["PublishBatchRequestEntries"]
        assert len(entries) <= 10
        self.calls.append(entries)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, Exception):
            raise step
        failures = {} if step == "ok" else step
        return {
            "Successful": [{"Id": e["Id"], "MessageId": "x"} for e in entries if e["Id"] not in failures],
            "Failed": [{"Id": i, **f} for i, f in failures.items()],
        }


def messages(n: int) -> list[Any]:
    return [format_alert(alert(f"a{i}"), "") for i in range(n)]


def publisher(fake: FakeSns, sleeps: list[float] | None = None) -> SnsPublisher:
    return SnsPublisher(fake, "arn:topic", sleep=(sleeps if sleeps is not None else []).append)


def test_batches_of_at_most_ten_with_short_ids() -> None:
    fake = FakeSns()
    result = publisher(fake).publish(messages(23))
    assert [len(c) for c in fake.calls] == [10, 10, 3]
    assert [e["Id"] for e in fake.calls[0]] == [f"m{i}" for i in range(10)]
    assert len(result.delivered) == 23 and not result.failed
    assert [len(c) for c in chunks(messages(20))] == [10, 10]


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (client_error("Throttling", 400), True),
        (client_error("InternalError", 500), True),
        (client_error("Whatever", 503), True),
        (client_error("InvalidParameter", 400), False),
        (client_error("AuthorizationError", 403), False),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (ValueError("bug"), False),
    ],
)
def test_error_classification(exc: Exception, retryable: bool) -> None:
    assert is_retryable_error(exc) is retryable


def test_entry_classification() -> None:
    assert is_retryable_entry({"Code": "InternalError", "SenderFault": False})
    assert not is_retryable_entry({"Code": "InvalidParameter", "SenderFault": True})


def test_only_failed_entries_are_retried_with_growing_backoff() -> None:
    fake = FakeSns({"m1": {"Code": "Throttled", "SenderFault": False}}, client_error("Throttling", 400), "ok")
    sleeps: list[float] = []
    result = publisher(fake, sleeps).publish(messages(3))
    assert [len(c) for c in fake.calls] == [3, 1, 1]
    assert fake.calls[1][0]["Message"] == messages(3)[1].body
    assert len(result.delivered) == 3 and not result.failed
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.99 / 2


def test_attempts_are_bounded_and_the_rest_is_reported_failed() -> None:
    fake = FakeSns(*[client_error("ServiceUnavailable", 503)] * 5)
    result = publisher(fake).publish(messages(2))
    assert len(fake.calls) == 3
    assert len(result.failed) == 2 and not result.delivered


def test_sender_faults_are_not_retried_but_reported_failed() -> None:
    fake = FakeSns({"m0": {"Code": "InvalidParameter", "SenderFault": True}})
    result = publisher(fake).publish(messages(2))
    assert len(fake.calls) == 1
    assert [m.alert_ids for m in result.failed] == [("a0",)]
    assert [m.alert_ids for m in result.delivered] == [("a1",)]


def test_a_client_4xx_fails_the_chunk_without_retry() -> None:
    fake = FakeSns(client_error("AuthorizationError", 403))
    result = publisher(fake).publish(messages(12))
    assert [len(c) for c in fake.calls] == [10, 2]
    assert len(result.failed) == 10 and len(result.delivered) == 2
