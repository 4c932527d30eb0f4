"""How the bridge reads Lambda's Invoke answers: partial-batch responses pass, function errors and unusable
responses raise (the bridge then retries the whole batch), and the request is a synchronous invocation."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody

from riskengine_tools.local.lambda_invoke import (
    FunctionFailed,
    InvalidFunctionResponse,
    LambdaInvoker,
    lambda_client,
    parse_invoke_response,
)

FAILURE = {"itemIdentifier": {"partition": "crypto-trades-2", "offset": 41}}


def answer(payload: bytes, **fields: Any) -> dict[str, Any]:
    """An Invoke response as boto3 returns it."""
    return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload)), **fields}


def test_a_partial_batch_response_is_returned_as_the_function_sent_it() -> None:
    payload = {"batchItemFailures": [FAILURE, {"itemIdentifier": {"partition": "my-topic-0", "offset": "7"}}]}
    assert parse_invoke_response("f", answer(json.dumps(payload).encode())) == payload


@pytest.mark.parametrize("payload", [b"", b"  ", b"null"])
def test_no_response_at_all_is_a_success(payload: bytes) -> None:
    assert parse_invoke_response("f", answer(payload)) is None


@pytest.mark.parametrize("payload", [{}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"other": 1}])
def test_a_response_without_failures_is_a_success(payload: dict[str, Any]) -> None:
    assert parse_invoke_response("f", answer(json.dumps(payload).encode())) == payload


def test_a_function_error_raises_with_the_error_and_the_end_of_the_log() -> None:
    error = {"errorType": "StateStoreError", "errorMessage": "redis down", "stackTrace": ["..."]}
    log = "\n".join(f"line {n}" for n in range(30)) + "\n"
    response = answer(
        json.dumps(error).encode(), FunctionError="Unhandled", LogResult=base64.b64encode(log.encode()).decode()
    )
    with pytest.raises(FunctionFailed) as raised:
        parse_invoke_response("score-trades", response)
    message = str(raised.value)
    assert "score-trades failed (Unhandled): StateStoreError: redis down" in message
    assert message.endswith("line 29") and "line 10" in message and "line 9\n" not in message


def test_a_function_error_without_an_error_object_quotes_the_payload() -> None:
    with pytest.raises(FunctionFailed, match=r"Task timed out after 3\.00 seconds"):
        parse_invoke_response("f", answer(b"Task timed out after 3.00 seconds", FunctionError="Unhandled"))


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"ok"', b"42"])
def test_a_payload_that_is_not_a_json_object_fails_the_batch(payload: bytes) -> None:
    with pytest.raises(InvalidFunctionResponse):
        parse_invoke_response("f", answer(payload))


@pytest.mark.parametrize(
    "item",
    [
        None,
        {},
        {"itemIdentifier": None},
        {"itemIdentifier": {"partition": "crypto-trades", "offset": 1}},  # no partition number
        {"itemIdentifier": {"partition": "-3", "offset": 1}},  # no topic
        {"itemIdentifier": {"partition": 3, "offset": 1}},
        {"itemIdentifier": {"partition": "crypto-trades-3"}},
        {"itemIdentifier": {"partition": "crypto-trades-3", "offset": None}},
        {"itemIdentifier": {"partition": "crypto-trades-3", "offset": True}},
        {"itemIdentifier": {"partition": "crypto-trades-3", "offset": -1}},
        {"itemIdentifier": {"partition": "crypto-trades-3", "offset": "4a"}},
        {"itemIdentifier": {"partition": "crypto-trades-3", "offset": 1.5}},
    ],
)
def test_a_failure_the_trigger_cannot_place_fails_the_whole_batch(item: Any) -> None:
    payload = json.dumps({"batchItemFailures": [FAILURE, item]}).encode()
    with pytest.raises(InvalidFunctionResponse, match="cannot use"):
        parse_invoke_response("f", answer(payload))


class RecordingClient:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return answer(self.payload)


def test_the_invoker_sends_the_event_as_one_synchronous_invocation() -> None:
    client = RecordingClient(json.dumps({"batchItemFailures": [FAILURE]}).encode())
    event = {"eventSource": "aws:kafka", "records": {"crypto-trades-2": []}}
    assert LambdaInvoker(client, "riskengine-score-trades")(event) == {"batchItemFailures": [FAILURE]}
    (call,) = client.calls
    assert call["FunctionName"] == "riskengine-score-trades"
    assert call["InvocationType"] == "RequestResponse"
    assert json.loads(call["Payload"]) == event


def test_the_client_never_retries_and_waits_longer_than_any_function_runs() -> None:
    client = lambda_client("http://127.0.0.1:4566", "eu-west-1")
    assert client.meta.endpoint_url == "http://127.0.0.1:4566"
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.read_timeout > 900  # Lambda's longest timeout
