"""The bulk indexer's contract: index what it can, reject what never indexes, retry only what is transient."""

import json
from collections.abc import Iterator

import pytest
from opensearchpy.exceptions import ConnectionError as SearchConnectionError

from riskengine.search import BulkIndexer, IndexAction, is_transient
from riskengine.search import bulk as bulk_module


class FakeBulkClient:
    """Answers each bulk item with the next status scripted for its id (201 once the script runs out)."""

    def __init__(self, script: dict[str, list[int]] | None = None, outages: int = 0) -> None:
        self.script = {doc_id: iter(statuses) for doc_id, statuses in (script or {}).items()}
        self.outages = outages
        self.requests: list[list[str]] = []

    def bulk(self, body: bytes) -> dict:
        lines = body.decode().splitlines()
        ids = [json.loads(meta)["index"]["_id"] for meta in lines[::2]]
        self.requests.append(ids)
        if self.outages:
            self.outages -= 1
            raise SearchConnectionError("N/A", "connection refused", None)
        return {"errors": True, "items": [{"index": self._item(doc_id)} for doc_id in ids]}

    def _item(self, doc_id: str) -> dict:
        status = next(self.script.get(doc_id, iter(())), 201)
        item: dict = {"_id": doc_id, "status": status}
        if status >= 300:
            item["error"] = {"type": "mapper_parsing_exception", "reason": f"failed to parse {doc_id}"}
        return item


def actions(count: int) -> list[IndexAction]:
    return [IndexAction("risk-alerts-2026.11.25", f"d{i}", {"alertId": f"d{i}"}, source=i) for i in range(count)]


def indexer(client: FakeBulkClient, attempts: int = 3) -> tuple[BulkIndexer, list[float]]:
    sleeps: list[float] = []
    return BulkIndexer(client, max_attempts=attempts, base_backoff_s=0.1, sleep=sleeps.append), sleeps  # type: ignore[arg-type]


def test_every_document_indexed_in_one_request() -> None:
    client = FakeBulkClient()
    result = indexer(client)[0].index(actions(5))
    assert (result.indexed, result.rejected, result.failed, result.attempts) == (5, [], [], 1)
    assert client.requests == [[f"d{i}" for i in range(5)]]


def test_a_mapping_conflict_is_rejected_with_its_reason_and_the_rest_indexed() -> None:
    result = indexer(FakeBulkClient({"d1": [400]}))[0].index(actions(3))
    assert result.indexed == 2 and result.failed == []
    [rejection] = result.rejected
    assert (rejection.action.doc_id, rejection.status, rejection.error_type) == ("d1", 400, "mapper_parsing_exception")
    assert rejection.reason == "failed to parse d1"


def test_throttled_items_alone_are_retried_with_backoff() -> None:
    client = FakeBulkClient({"d0": [429, 503]})
    bulk, sleeps = indexer(client)
    result = bulk.index(actions(3))
    assert result.indexed == 3 and result.attempts == 3
    assert client.requests == [["d0", "d1", "d2"], ["d0"], ["d0"]]
    assert sleeps == [0.1, 0.2]


def test_what_still_fails_after_the_last_attempt_is_reported() -> None:
    result = indexer(FakeBulkClient({"d2": [503, 503, 503]}))[0].index(actions(3))
    assert result.indexed == 2 and [a.source for a in result.failed] == [2]


def test_an_unreachable_cluster_fails_the_request_and_it_is_retried() -> None:
    client = FakeBulkClient(outages=1)
    result = indexer(client)[0].index(actions(2))
    assert result.indexed == 2 and len(client.requests) == 2


def test_an_outage_beyond_the_attempts_fails_everything_and_rejects_nothing() -> None:
    result = indexer(FakeBulkClient(outages=5), attempts=2)[0].index(actions(2))
    assert result.indexed == 0 and result.rejected == [] and [a.source for a in result.failed] == [0, 1]


@pytest.fixture
def small_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bulk_module, "MAX_ACTIONS_PER_REQUEST", 2)
    yield


def test_large_batches_are_split_into_requests(small_requests: None) -> None:
    client = FakeBulkClient()
    assert indexer(client)[0].index(actions(5)).indexed == 5
    assert [len(ids) for ids in client.requests] == [2, 2, 1]


@pytest.mark.parametrize(("status", "transient"), [(429, True), (500, True), (503, True), (400, False), (409, False)])
def test_transient_statuses(status: int, transient: bool) -> None:
    assert is_transient(status) is transient
