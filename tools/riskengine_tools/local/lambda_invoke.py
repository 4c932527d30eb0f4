"""The bridge's way to a deployed function: Lambda's Invoke API (LocalStack's, or any endpoint's).

:class:`LambdaInvoker` is an ``Invoke`` for :class:`riskengine_tools.local.bridge.EventSourceMappingBridge`:
it sends the MSK-shaped event as one synchronous (``RequestResponse``) invocation and returns the
function's partial-batch response. Whatever the trigger would count as a failure of the whole
batch raises instead, and the bridge then retries the batch as the trigger does: a function error
(``X-Amz-Function-Error``: the handler raised or timed out), an API error, or a response that is not
a partial-batch response.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from riskengine.errors import RiskEngineError

__all__ = [
    "FunctionFailed",
    "InvalidFunctionResponse",
    "LambdaInvoker",
    "lambda_client",
    "parse_invoke_response",
]

# Longer than any function may run (Lambda's limit is 900 s): a slow batch is never cut off and sent again.
READ_TIMEOUT_S = 905
# Emulators accept any credentials; fixed ones mean nothing has to be configured to use one.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
LOG_TAIL_LINES = 20
TOPIC_PARTITION = re.compile(r".+-[0-9]+")  # how the trigger names a partition: "<topic>-<n>"
DIGITS = re.compile(r"[0-9]+")


class FunctionFailed(RiskEngineError):
    """The invocation failed inside the function (it raised, or ran out of time or memory)."""

    reason = "function_error"


class InvalidFunctionResponse(RiskEngineError):
    """The function returned something the trigger cannot read as a partial-batch response."""

    reason = "invalid_function_response"


def lambda_client(endpoint_url: str | None, region: str = "us-east-1") -> Any:
    """A Lambda client for the bridge.

    The SDK never retries: an invocation that timed out on the client may still be running, and
    the bridge already retries failed batches with back-off, as the trigger does.
    """
    config = Config(read_timeout=READ_TIMEOUT_S, connect_timeout=5, retries={"total_max_attempts": 1})
    credentials = EMULATOR_CREDENTIALS if endpoint_url else {}
    return boto3.client("lambda", endpoint_url=endpoint_url, region_name=region, config=config, **credentials)


@dataclass(frozen=True, slots=True)
class LambdaInvoker:
    """Invoke ``function_name`` with each batch's event and return its partial-batch response."""

    client: Any
    function_name: str

    def __call__(self, event: dict[str, Any]) -> dict[str, Any] | None:
        response = self.client.invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            LogType="Tail",  # the last 4 KB of the function's log, quoted when it fails
            Payload=json.dumps(event).encode(),
        )
        return parse_invoke_response(self.function_name, response)


def parse_invoke_response(function_name: str, response: Mapping[str, Any]) -> dict[str, Any] | None:
    """The partial-batch response of one Invoke answer; raises where the trigger sees a whole-batch failure.

    As for Lambda's stream triggers: an empty or ``null`` payload, or one without failures, is a
    success; an item whose ``itemIdentifier`` is missing or malformed fails the whole batch.
    """
    raw = response["Payload"].read()
    if response.get("FunctionError"):
        raise FunctionFailed(
            f"{function_name} failed ({response['FunctionError']}): {_error_summary(raw)}{_log_tail(response)}"
        )
    if not raw.strip():
        return None
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise InvalidFunctionResponse(f"{function_name} returned a payload that is not JSON: {raw[:200]!r}") from exc
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise InvalidFunctionResponse(f"{function_name} returned {type(payload).__name__}, not a JSON object")
    for item in payload.get("batchItemFailures") or []:
        _check_item(function_name, item)
    return payload


def _check_item(function_name: str, item: Any) -> None:
    if not _is_kafka_item(item):
        raise InvalidFunctionResponse(
            f"{function_name} returned a batch item failure the trigger cannot use: {item!r} "
            '(expected {"itemIdentifier": {"partition": "<topic>-<n>", "offset": <n>}})'
        )


def _is_kafka_item(item: Any) -> bool:
    identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
    if not isinstance(identifier, dict) or not isinstance(identifier.get("partition"), str):
        return False
    offset = identifier.get("offset")
    offset_ok = isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
    offset_ok = offset_ok or (isinstance(offset, str) and DIGITS.fullmatch(offset) is not None)
    return offset_ok and TOPIC_PARTITION.fullmatch(identifier["partition"]) is not None


def _error_summary(raw: bytes) -> str:
    """``errorType: errorMessage`` of Lambda's error payload, or the payload itself."""
    try:
        error = json.loads(raw)
    except ValueError:
        return raw[:500].decode(errors="replace")
    if isinstance(error, dict) and "errorMessage" in error:
        return f"{error.get('errorType', 'Error')}: {error['errorMessage']}"
    return raw[:500].decode(errors="replace")


def _log_tail(response: Mapping[str, Any]) -> str:
    encoded = response.get("LogResult")
    if not encoded:
        return ""
    lines = base64.b64decode(encoded).decode(errors="replace").rstrip().splitlines()
    return "\nlast lines of the function's log:\n" + "\n".join(lines[-LOG_TAIL_LINES:])
