"""The compliance dashboards kept in the repository, and their import into OpenSearch Dashboards.

``saved_objects/compliance.ndjson`` is exactly what ``Stack Management > Saved objects > Import``
accepts: two index patterns, six visualisations (two of them on order-book alerts) and the "Compliance"
dashboard, with stable ids
(``riskengine-...``), so importing again with ``overwrite=true`` replaces them instead of adding copies.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import requests

from riskengine.errors import RiskEngineError
from riskengine.search.client import sigv4_auth  # the client's own signer, not a second copy
from riskengine.search.config import SearchAuth, SearchConfig

__all__ = [
    "SAVED_OBJECTS_FILE",
    "DashboardsImportError",
    "ImportResult",
    "dashboards_auth",
    "import_saved_objects",
    "load_saved_objects",
    "saved_objects_ndjson",
]

SAVED_OBJECTS_FILE = "compliance.ndjson"
_IMPORT_PATH = "/api/saved_objects/_import"


class DashboardsImportError(RiskEngineError):
    """OpenSearch Dashboards could not be reached or rejected some of the saved objects."""

    reason = "dashboards_import_failed"


@dataclass(frozen=True, slots=True)
class ImportResult:
    success_count: int
    by_type: Mapping[str, int]

    def summary(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.by_type.items()))
        return f"{self.success_count} objects" + (f" ({kinds})" if kinds else "")


def saved_objects_ndjson() -> bytes:
    """The file as shipped in the package (what ``riskengine search export-dashboards`` writes)."""
    return files("riskengine.search").joinpath("saved_objects", SAVED_OBJECTS_FILE).read_bytes()


def load_saved_objects() -> list[dict[str, Any]]:
    """One dict per saved object, in file order (index patterns first, the dashboard last)."""
    lines = saved_objects_ndjson().decode("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def dashboards_auth(config: SearchConfig) -> Any:
    """The credentials the OpenSearch client uses; on Amazon OpenSearch Service ``/_dashboards`` takes the same.

    ``requests`` accepts both forms: a (user, password) tuple or opensearch-py's SigV4 signer, which
    signs the multipart body too.
    """
    if config.auth is SearchAuth.BASIC:
        return (config.username, config.password)
    if config.auth is SearchAuth.SIGV4:
        return sigv4_auth(config)
    return None


def import_saved_objects(
    dashboards_url: str,
    *,
    auth: Any = None,
    verify_certs: bool = True,
    timeout_s: float = 30.0,
    ndjson: bytes | None = None,
) -> ImportResult:
    """``POST {dashboards_url}/api/saved_objects/_import?overwrite=true`` with the ndjson as a multipart file.

    Raises :class:`DashboardsImportError` when Dashboards cannot be reached, answers with an HTTP
    error, or reports objects it did not import (each named with its type, id and error).
    """
    url = dashboards_url.rstrip("/") + _IMPORT_PATH
    body = saved_objects_ndjson() if ndjson is None else ndjson
    try:
        response = requests.post(
            url,
            params={"overwrite": "true"},
            # Dashboards rejects state-changing API calls without this header (CSRF protection).
            headers={"osd-xsrf": "true"},
            # The file name must end in .ndjson: Dashboards checks the extension.
            files={"file": (SAVED_OBJECTS_FILE, body, "application/ndjson")},
            auth=auth,
            verify=verify_certs,
            timeout=timeout_s,
        )
    except requests.RequestException as exc:
        raise DashboardsImportError(
            f"cannot reach OpenSearch Dashboards at {dashboards_url} ({type(exc).__name__}): "
            "check --dashboards-url and that Dashboards is running"
        ) from exc
    if response.status_code in (401, 403):
        raise DashboardsImportError(
            f"OpenSearch Dashboards refused the import (HTTP {response.status_code}): check --auth and the "
            "credentials, and that the user may write saved objects"
        )
    if not response.ok:
        raise DashboardsImportError(
            f"OpenSearch Dashboards answered HTTP {response.status_code} to {url}: {response.text[:300]}"
        )
    return _result(response)


def _result(response: requests.Response) -> ImportResult:
    try:
        answer = response.json()
    except ValueError as exc:
        raise DashboardsImportError(f"not a Dashboards import response: {response.text[:300]!r}") from exc
    errors = answer.get("errors") or []
    if errors or not answer.get("success", False):
        failed = "; ".join(_describe(error) for error in errors) or "no details given"
        raise DashboardsImportError(f"OpenSearch Dashboards did not import every object: {failed}")
    by_type = Counter(str(item.get("type")) for item in answer.get("successResults", []))
    return ImportResult(success_count=int(answer.get("successCount", sum(by_type.values()))), by_type=dict(by_type))


def _describe(error: Mapping[str, Any]) -> str:
    problem = error.get("error", {})
    text = f"{error.get('type')}/{error.get('id')} ({error.get('title', '')}): {problem.get('type', 'unknown')}"
    missing = [f"{ref.get('type')}/{ref.get('id')}" for ref in problem.get("references", [])]
    return text + (f" [missing {', '.join(missing)}]" if missing else "")
