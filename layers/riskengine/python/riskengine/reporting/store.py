"""Reads and writes against OpenSearch, with its failures translated into the API's own.

Reads tolerate a missing alias (``ignore_unavailable``): before anything is indexed the reports
are empty, not errors. An unreachable or overloaded cluster is :class:`SearchUnavailable`; any
other error is a bug or a misconfiguration and propagates as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import TransportError

from riskengine.reporting.errors import SearchUnavailable

__all__ = ["create_document", "search"]

_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except SearchConnectionError as exc:  # refused, timed out, TLS: nothing came back
        raise SearchUnavailable("the search cluster cannot be reached; try again in a moment") from exc
    except TransportError as exc:
        if exc.status_code in _RETRYABLE_STATUS:
            raise SearchUnavailable(
                f"the search cluster is overloaded or unavailable (HTTP {exc.status_code}); try again in a moment"
            ) from exc
        raise


def search(client: OpenSearch, alias: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run ``body`` on ``alias``; an alias that does not exist yet matches nothing."""
    with _translated_errors():
        return client.search(index=alias, body=body, ignore_unavailable=True)


def create_document(client: OpenSearch, index: str, doc_id: str, body: dict[str, Any]) -> None:
    """Write a new document, visible to searches when this returns; never overwrites one."""
    with _translated_errors():
        client.index(index=index, id=doc_id, body=body, op_type="create", refresh="wait_for")
