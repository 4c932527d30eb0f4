"""Bulk indexing with per-item outcomes: indexed, rejected for good, or still failing after retries.

OpenSearch answers a bulk request item by item. Throttling (429) and server errors (5xx) are
transient, so those items (or the whole request, when it fails as a whole) are retried with
backoff; any other 4xx means the document can never be indexed as it is (a mapping conflict, a
strict-mapping violation) and retrying would only loop, so it is rejected with the server's reason
and the caller dead-letters it. What still fails after the last attempt is reported, never dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import TransportError

logger = logging.getLogger(__name__)

# One request stays well under the 10 MB payload limit of the smallest Amazon OpenSearch instance types.
MAX_ACTIONS_PER_REQUEST = 1_000
MAX_BYTES_PER_REQUEST = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class IndexAction:
    index: str
    doc_id: str
    document: dict[str, Any]
    source: Any = None  # what the caller needs back for this action (its Kafka record)

    def lines(self) -> bytes:
        meta = json.dumps({"index": {"_index": self.index, "_id": self.doc_id}}, separators=(",", ":"))
        return f"{meta}\n{json.dumps(self.document, separators=(',', ':'))}\n".encode()


@dataclass(frozen=True, slots=True)
class Rejection:
    action: IndexAction
    status: int
    error_type: str
    reason: str


@dataclass(slots=True)
class BulkResult:
    indexed: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    failed: list[IndexAction] = field(default_factory=list)
    attempts: int = 0


def is_transient(status: int) -> bool:
    return status == 429 or status >= 500


class BulkIndexer:
    def __init__(
        self,
        client: OpenSearch,
        max_attempts: int = 4,
        base_backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self._client = client
        self._max_attempts = max_attempts
        self._base_backoff_s = base_backoff_s
        self._sleep = sleep

    def index(self, actions: Sequence[IndexAction]) -> BulkResult:
        result = BulkResult()
        pending = list(actions)
        for attempt in range(self._max_attempts):
            if not pending:
                break
            if attempt:
                self._sleep(self._base_backoff_s * 2 ** (attempt - 1))
            result.attempts += 1
            pending = [a for chunk in _chunks(pending) for a in self._send(chunk, result)]
        result.failed = pending
        return result

    def _send(self, chunk: list[tuple[IndexAction, bytes]], result: BulkResult) -> list[IndexAction]:
        """Send one request; record indexed and rejected items, return the ones to try again."""
        try:
            response = self._client.bulk(body=b"".join(lines for _, lines in chunk))
        except (SearchConnectionError, TransportError) as exc:
            # Unreachable, throttled, unauthorised: nothing was indexed, and nothing here is the documents' fault.
            logger.warning("bulk request of %d documents failed (%s): will retry", len(chunk), exc.status_code)
            return [action for action, _ in chunk]
        retry: list[IndexAction] = []
        for (action, _), item in zip(chunk, response["items"], strict=True):
            outcome = next(iter(item.values()))
            status = int(outcome.get("status", 500))
            if status < 300:
                result.indexed += 1
            elif is_transient(status):
                retry.append(action)
            else:
                error = outcome.get("error") or {}
                result.rejected.append(
                    Rejection(action, status, str(error.get("type", "unknown")), str(error.get("reason", error)))
                )
        return retry


def _chunks(actions: list[IndexAction]) -> list[list[tuple[IndexAction, bytes]]]:
    """Requests of at most MAX_ACTIONS_PER_REQUEST actions and (unless one document is larger) MAX_BYTES."""
    chunks: list[list[tuple[IndexAction, bytes]]] = []
    current: list[tuple[IndexAction, bytes]] = []
    size = 0
    for action in actions:
        lines = action.lines()
        if current and (len(current) >= MAX_ACTIONS_PER_REQUEST or size + len(lines) > MAX_BYTES_PER_REQUEST):
            chunks.append(current)
            current, size = [], 0
        current.append((action, lines))
        size += len(lines)
    if current:
        chunks.append(current)
    return chunks
