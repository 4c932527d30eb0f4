"""SNS publish_batch in tens, retrying what AWS says may succeed later, returning what never did."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from riskengine.alerting.messages import SnsMessage

logger = logging.getLogger(__name__)
MAX_BATCH = 10  # SNS PublishBatch limit
RETRYABLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestThrottled",
     "InternalError", "InternalFailure", "ServiceUnavailable", "KMSThrottling"}
)  # fmt: skip


class SnsClient(Protocol):
    def publish_batch(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(slots=True)
class PublishResult:
    delivered: list[SnsMessage] = field(default_factory=list)
    failed: list[SnsMessage] = field(default_factory=list)


def chunks(messages: Sequence[SnsMessage], size: int = MAX_BATCH) -> list[Sequence[SnsMessage]]:
    return [messages[i : i + size] for i in range(0, len(messages), size)]


def is_retryable_entry(failure: dict[str, Any]) -> bool:
    """A per-entry failure is AWS's fault (throttling, 5xx) unless SenderFault says it is ours."""
    return not failure.get("SenderFault", False)


def is_retryable_error(exc: Exception) -> bool:
    """Throttling, a 5xx or no answer at all may succeed later; any other 4xx will not."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500 or status == 429
    return False


class SnsPublisher:
    """Bounded exponential backoff (``attempts`` calls per chunk), so a batch never hangs on SNS."""

    def __init__(
        self,
        client: SnsClient,
        topic_arn: str,
        *,
        attempts: int = 3,
        base_delay_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._topic_arn = topic_arn
        self._attempts = attempts
        self._base_delay_s = base_delay_s
        self._sleep = sleep

    def publish(self, messages: Sequence[SnsMessage]) -> PublishResult:
        result = PublishResult()
        for chunk in chunks(messages):
            delivered, failed = self._publish_chunk(chunk)
            result.delivered.extend(delivered)
            result.failed.extend(failed)
        return result

    def _publish_chunk(self, chunk: Sequence[SnsMessage]) -> tuple[list[SnsMessage], list[SnsMessage]]:
        pending, delivered, given_up = list(chunk), [], []
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._base_delay_s * 2 ** (attempt - 1) * (1 + random.random()))
            ok, retry, permanent = self._call(pending)
            delivered.extend(ok)
            given_up.extend(permanent)
            pending = retry
            if not pending:
                break
        if pending:
            logger.warning("%d SNS entries still failing after %d attempts", len(pending), self._attempts)
        return delivered, given_up + pending

    def _call(self, pending: list[SnsMessage]) -> tuple[list[SnsMessage], list[SnsMessage], list[SnsMessage]]:
        """One publish_batch: (accepted, worth retrying, not worth retrying)."""
        by_id = {f"m{i}": message for i, message in enumerate(pending)}
        try:
            response = self._client.publish_batch(
                TopicArn=self._topic_arn, PublishBatchRequestEntries=[m.entry(i) for i, m in by_id.items()]
            )
        except Exception as exc:
            if is_retryable_error(exc):
                logger.warning("SNS publish_batch failed, will retry: %s", exc)
                return [], pending, []
            logger.error("SNS publish_batch rejected the request: %s", exc)
            return [], [], pending
        ok = [by_id[s["Id"]] for s in response.get("Successful", [])]
        retry, permanent = [], []
        for failure in response.get("Failed", []):
            (retry if is_retryable_entry(failure) else permanent).append(by_id[failure["Id"]])
            if not is_retryable_entry(failure):
                logger.error("SNS rejected an entry: %s %s", failure.get("Code"), failure.get("Message"))
        answered = {id(m) for m in ok + retry + permanent}
        retry.extend(m for m in pending if id(m) not in answered)  # an entry SNS did not mention: retry it
        return ok, retry, permanent
