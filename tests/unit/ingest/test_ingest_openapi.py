"""The OpenAPI document: generated from the code, true to the Avro schema, committed up to date."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

from riskengine.codec import TRADES_SUBJECT, FixedIdRegistry
from riskengine.intake import TRADE_FIELDS

DOCS_API = Path(__file__).resolve().parents[3] / "docs" / "api"


def _document(handler: ModuleType) -> dict:
    return json.loads(handler.app.get_openapi_json_schema())


def test_the_documented_trade_has_exactly_the_fields_of_the_current_schema(handler: ModuleType) -> None:
    _, _, schema = FixedIdRegistry().versions(TRADES_SUBJECT)[-1]
    documented = _document(handler)["components"]["schemas"]["CryptoTradeIn"]["properties"]
    assert set(documented) == {field["name"] for field in schema["fields"]} == TRADE_FIELDS


def test_the_document_lists_every_endpoint_with_its_error_responses(handler: ModuleType) -> None:
    paths = _document(handler)["paths"]
    assert set(paths) == {"/trades", "/simulation/start", "/simulation/stop", "/simulation/stats"}
    assert {"202", "400", "503"} <= set(paths["/trades"]["post"]["responses"])
    assert {"202", "400", "409", "503"} <= set(paths["/simulation/start"]["post"]["responses"])
    body = paths["/trades"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {
        "$ref": "#/components/schemas/TradesBody",
        "description": "A CryptoTrade object or an array of them.",
    }


def test_the_committed_document_is_the_generated_one(handler: ModuleType) -> None:
    committed = (DOCS_API / "ingest.openapi.json").read_text(encoding="utf-8")
    assert committed == handler.app.get_openapi_json_schema() + "\n", (
        "docs/api/ingest.openapi.json is stale: run `riskengine api openapi --out docs/api`"
    )
