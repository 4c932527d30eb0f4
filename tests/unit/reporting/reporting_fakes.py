"""A fake OpenSearch client and API Gateway events shared by the reporting unit tests."""

from __future__ import annotations

import json
from typing import Any


class FakeSearch:
    """Answers searches with canned responses, in order (an exception is raised instead), and records calls."""

    def __init__(self, *responses: dict[str, Any] | Exception) -> None:
        self.responses = list(responses)
        self.searches: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.writes: list[dict[str, Any]] = []

    def search(self, *, index: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        self.searches.append((index, body, params))
        response = self.responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return response

    def index(self, **call: Any) -> dict[str, Any]:
        self.writes.append(call)
        return {"result": "created"}


def hits(*sources: dict[str, Any], sorts: list[list[Any]] | None = None, total: int | None = None) -> dict[str, Any]:
    """A search response holding ``sources`` (with their sort values, if given)."""
    found = [
        {"_id": str(i), "_source": source} | ({"sort": sorts[i]} if sorts else {}) for i, source in enumerate(sources)
    ]
    return {"hits": {"total": {"value": len(sources) if total is None else total}, "hits": found}}


def nothing() -> dict[str, Any]:
    """What a search on an alias that does not exist answers with ignore_unavailable: no aggregations at all."""
    return {"hits": {"total": {"value": 0}, "hits": []}}


def rest_event(method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
    """An API Gateway REST API proxy event."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "unit", "stage": "prod", "httpMethod": method, "path": path},
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }
