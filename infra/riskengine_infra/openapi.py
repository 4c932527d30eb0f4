"""The API's routes and request models, read from the OpenAPI documents the handlers generate (docs/api/).

``functions/ingest_trade`` and ``functions/report_api`` build their OpenAPI 3.1 documents from their own route
declarations, and a unit test keeps ``docs/api/*.openapi.json`` equal to them: deriving API Gateway's methods,
required parameters and body models from those files keeps the gateway's validation in step with the handlers
without a hand-written copy.

API Gateway validates bodies with JSON Schema draft 4 and checks only the presence of required parameters, so
:func:`draft4` inlines the ``$ref``s and rewrites the draft 2020-12 keywords Pydantic emits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from riskengine_infra.bundling import REPO

__all__ = ["API_DOCUMENTS", "Operation", "draft4", "operations"]

# Function folder -> its OpenAPI document.
API_DOCUMENTS = {
    "ingest_trade": REPO / "docs" / "api" / "ingest.openapi.json",
    "report_api": REPO / "docs" / "api" / "reports.openapi.json",
}
DRAFT4 = "http://json-schema.org/draft-04/schema#"
# Annotations draft 4 does not know; API Gateway's validator would ignore them, they only make models larger.
_DROPPED = {"title", "description", "examples", "default"}


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of the API: ``parameters`` maps API Gateway's ``method.request.*`` names to required-ness,
    ``body`` is the draft-4 model of a required JSON body (None: no body, or an optional one)."""

    function: str
    path: str
    method: str
    parameters: dict[str, bool]
    body: dict[str, Any] | None


def operations() -> list[Operation]:
    """Every operation of both documents, plus each handler's Swagger UI (``GET /docs/...``, not in its own
    document), in document order."""
    found: list[Operation] = []
    for function, path in API_DOCUMENTS.items():
        document = json.loads(path.read_text(encoding="utf-8"))
        schemas = document.get("components", {}).get("schemas", {})
        for route, methods in document["paths"].items():
            for method, operation in methods.items():
                found.append(_operation(function, route, method.upper(), operation, schemas))
        swagger = "/docs/ingest" if function == "ingest_trade" else "/docs/reports"
        found.append(Operation(function, swagger, "GET", {"method.request.querystring.format": False}, None))
    return found


def _operation(function: str, route: str, method: str, operation: dict[str, Any], schemas: dict[str, Any]) -> Operation:
    where = {"path": "path", "query": "querystring", "header": "header"}
    parameters = {
        f"method.request.{where[p['in']]}.{p['name']}": bool(p.get("required", False) or p["in"] == "path")
        for p in operation.get("parameters", [])
    }
    body = None
    request = operation.get("requestBody")
    # An optional body cannot be modelled: API Gateway would validate an absent body against the model too.
    if request and request.get("required"):
        schema = request["content"]["application/json"]["schema"]
        body = {"$schema": DRAFT4, **draft4(schema, schemas)}
    return Operation(function, route, method, parameters, body)


def draft4(schema: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``schema`` as JSON Schema draft 4, ``#/components/schemas/...`` references inlined."""
    if isinstance(schema, list):
        return [draft4(item, schemas, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        if name in seen:
            raise ValueError(f"recursive schema {name}: API Gateway models cannot inline it")
        return draft4(schemas[name], schemas, (*seen, name))
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED:
            continue
        if key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            # 2020-12's numeric bound is draft 4's minimum/maximum with a boolean flag
            converted["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            converted[key] = True
        elif key == "const":
            converted["enum"] = [value]
        elif key in ("properties", "patternProperties"):
            converted[key] = {name: draft4(sub, schemas, seen) for name, sub in value.items()}
        else:
            converted[key] = draft4(value, schemas, seen)
    return converted
