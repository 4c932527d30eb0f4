"""Where writer and reader schemas come from.

Two implementations of one small protocol:

* :class:`FixedIdRegistry` reads the ``.avsc`` files shipped in the package and uses the fixed
  ids in ``schemas/ids.json``. No network, deterministic ids: local runs, tests and benchmarks.
* :class:`ConfluentSchemaRegistry` talks to a real Confluent-compatible registry (MSK deployments)
  with the stdlib only, so the Lambda layer gains no HTTP dependency. Local ``.avsc`` files remain
  the source of truth: the current schema is registered (idempotently) and the registry's id used.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final, Protocol

import fastavro
from fastavro.schema import SchemaParseException
from fastavro.types import Schema

from .errors import RegistryUnavailable, UnknownSchemaId, UnknownSubject

TRADES_SUBJECT: Final = "crypto-trades-value"
ORDERS_SUBJECT: Final = "crypto-orders-value"
ANALYZED_TRADES_SUBJECT: Final = "risk-analyzed-trades-value"
ALERTS_SUBJECT: Final = "risk-alerts-value"

# Subject (Confluent TopicNameStrategy name) -> folder holding its ``v<N>.avsc`` files.
SUBJECT_DIRS: Final[dict[str, str]] = {
    TRADES_SUBJECT: "crypto_trade",
    ORDERS_SUBJECT: "order_event",
    ANALYZED_TRADES_SUBJECT: "risk_analyzed_trade",
    ALERTS_SUBJECT: "risk_alert",
}

SCHEMA_DIR_ENV: Final = "RISKENGINE_SCHEMA_DIR"
_PACKAGE_SCHEMA_DIR: Final = Path(__file__).resolve().parent.parent / "schemas"
_CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"
_SCHEMA_NOT_FOUND: Final = 40403  # Confluent error_code for an unknown schema id

# (version, schema id, raw schema dict) of one version of a subject.
VersionInfo = tuple[int, int, dict[str, Any]]


class SchemaRegistry(Protocol):
    """What the codec needs: writer schemas by id, and the current schema (and id) of a subject."""

    def schema_for_id(self, schema_id: int) -> Schema:
        """Return the parsed schema registered under ``schema_id``; raise UnknownSchemaId if none."""
        ...

    def latest(self, subject: str) -> tuple[int, Schema]:
        """Return ``(schema_id, parsed schema)`` of the subject's current version."""
        ...


class FixedIdRegistry:
    """Schemas from the package's ``schemas/`` folder with the fixed ids of ``ids.json``.

    Everything is read and parsed once in the constructor so lookups are plain dict hits.
    """

    def __init__(self, schema_dir: Path | None = None) -> None:
        self.schema_dir = Path(schema_dir or os.environ.get(SCHEMA_DIR_ENV) or _PACKAGE_SCHEMA_DIR)
        ids = json.loads((self.schema_dir / "ids.json").read_text())
        self._versions: dict[str, list[VersionInfo]] = {
            subject: self._load_subject(subject, by_version) for subject, by_version in ids.items()
        }
        self._by_id: dict[int, Schema] = {
            schema_id: fastavro.parse_schema(raw)
            for versions in self._versions.values()
            for _, schema_id, raw in versions
        }

    def _load_subject(self, subject: str, by_version: dict[str, int]) -> list[VersionInfo]:
        """Read every version file of one subject, sorted by version."""
        folder = self.schema_dir / SUBJECT_DIRS.get(subject, subject)
        return sorted(
            (int(version), schema_id, json.loads((folder / f"v{version}.avsc").read_text()))
            for version, schema_id in by_version.items()
        )

    def versions(self, subject: str) -> list[VersionInfo]:
        """Return ``[(version, schema_id, raw schema dict), ...]`` oldest first (for evolution checks)."""
        try:
            return self._versions[subject]
        except KeyError:
            raise UnknownSubject(f"no schema defined for subject {subject!r}") from None

    def subjects(self) -> list[str]:
        """Return every subject that has at least one schema version."""
        return list(self._versions)

    def schema_for_id(self, schema_id: int) -> Schema:
        """Return the parsed schema with this fixed id."""
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise UnknownSchemaId(f"schema id {schema_id} is not in {self.schema_dir / 'ids.json'}") from None

    def latest(self, subject: str) -> tuple[int, Schema]:
        """Return the fixed id and parsed schema of the subject's highest version."""
        _, schema_id, _ = self.versions(subject)[-1]
        return schema_id, self._by_id[schema_id]


class ConfluentSchemaRegistry:
    """Client for a Confluent-compatible registry (stdlib ``urllib``), caching every answer.

    Ids are the registry's, not the fixed ones: ``latest`` registers the local current schema
    (idempotent: an identical schema returns its existing id) so producers never depend on someone
    having pre-registered schemas, and a compatibility violation fails loudly at start-up.
    """

    def __init__(
        self,
        url: str,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 5.0,
        *,
        local: FixedIdRegistry | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._local = local or FixedIdRegistry()
        self._headers = {"Accept": _CONTENT_TYPE, "Content-Type": _CONTENT_TYPE}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._by_id: dict[int, Schema] = {}
        self._latest: dict[str, tuple[int, Schema]] = {}

    def schema_for_id(self, schema_id: int) -> Schema:
        """Return the schema the registry holds under ``schema_id`` (fetched once)."""
        schema = self._by_id.get(schema_id)
        if schema is None:
            text = self._request("GET", f"/schemas/ids/{schema_id}", "schema", schema_id=schema_id)
            schema = self._by_id[schema_id] = self._parse_remote(text, schema_id)
        return schema

    def latest(self, subject: str) -> tuple[int, Schema]:
        """Register the local current schema of ``subject`` (once) and return its registry id."""
        cached = self._latest.get(subject)
        if cached is None:
            _, _, raw = self._local.versions(subject)[-1]
            body = {"schema": json.dumps(raw), "schemaType": "AVRO"}
            schema_id = int(self._request("POST", f"/subjects/{subject}/versions", "id", body=body))
            # The id now denotes our own schema: seed the id cache so decoding our output needs no GET.
            schema = self._by_id[schema_id] = fastavro.parse_schema(raw)
            cached = self._latest[subject] = (schema_id, schema)
        return cached

    def _parse_remote(self, text: str, schema_id: int) -> Schema:
        """Parse a schema served by the registry; a broken one is the registry's fault, not the data's."""
        try:
            return fastavro.parse_schema(json.loads(text))
        except (ValueError, TypeError, KeyError, SchemaParseException) as exc:
            detail = f"registry {self.url} served an unparsable schema for id {schema_id}: {exc}"
            raise RegistryUnavailable(detail) from exc

    def _request(
        self,
        method: str,
        path: str,
        key: str,
        *,
        body: dict[str, Any] | None = None,
        schema_id: int | None = None,
    ) -> Any:
        """Send one request and return ``answer[key]``.

        Every failure becomes RegistryUnavailable, except a 404 on a schema id lookup, which is a
        property of the data (UnknownSchemaId) rather than of the registry.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=self._headers)
        where = f"schema registry {method} {self.url}{path}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())[key]
        except urllib.error.HTTPError as exc:
            code, message = _error_of(exc)
            if schema_id is not None and (exc.code == 404 or code == _SCHEMA_NOT_FOUND):
                raise UnknownSchemaId(f"{where}: schema id {schema_id} not found ({message})") from exc
            detail = f"{where} failed: HTTP {exc.code} error_code={code}: {message}"
            raise RegistryUnavailable(detail) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:  # network, timeout, malformed answer
            raise RegistryUnavailable(f"{where} failed: {type(exc).__name__}: {exc}") from exc


def _error_of(exc: urllib.error.HTTPError) -> tuple[int | None, str]:
    """Extract Confluent's ``error_code`` and ``message`` from an error response, if it has them."""
    try:
        payload = json.loads(exc.read())
    except (OSError, ValueError):
        return None, str(exc.reason or "")
    if not isinstance(payload, dict):
        return None, str(payload)
    return payload.get("error_code"), str(payload.get("message", ""))


def registry_from_env() -> SchemaRegistry:
    """Pick the registry from the environment.

    ``SCHEMA_REGISTRY_URL`` set -> Confluent (with optional ``SCHEMA_REGISTRY_USER`` /
    ``SCHEMA_REGISTRY_PASSWORD`` basic auth); otherwise the fixed-id local registry.
    """
    url = os.environ.get("SCHEMA_REGISTRY_URL")
    if not url:
        return FixedIdRegistry()
    user = os.environ.get("SCHEMA_REGISTRY_USER")
    auth = (user, os.environ.get("SCHEMA_REGISTRY_PASSWORD", "")) if user else None
    return ConfluentSchemaRegistry(url, auth)
