"""functions/report_api with a fake OpenSearch client: every parameter is validated, every error is a JSON
message with the right status, and the OpenAPI spec documents the endpoints."""

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from opensearchpy.exceptions import ConnectionError as SearchConnectionError
from opensearchpy.exceptions import RequestError
from reporting_fakes import FakeSearch, hits, nothing, rest_event

from riskengine_tools.local.bridge import LocalContext
from riskengine_tools.local.paths import function_handler

Call = Callable[..., tuple[int, dict[str, str], Any]]
DOCS_API = Path(__file__).resolve().parents[3] / "docs" / "api"


@pytest.fixture(scope="module")
def module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_api_handler", function_handler("report_api"))
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@pytest.fixture
def client(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSearch]:
    fake = FakeSearch()
    monkeypatch.setattr(module, "default_client", lambda: fake)
    yield fake


@pytest.fixture
def call(module: ModuleType, client: FakeSearch) -> Call:
    def invoke(method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> tuple:
        response = module.lambda_handler(rest_event(method, path, query, body), LocalContext(aws_request_id="req-1"))
        headers = {name: values[0] for name, values in response["multiValueHeaders"].items()}
        is_json = headers["Content-Type"].startswith("application/json")
        return response["statusCode"], headers, json.loads(response["body"]) if is_json else response["body"]

    return invoke


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/alerts", {"size": "0"}, "query parameter size: Input should be greater than or equal to 1"),
        ("/alerts", {"size": "501"}, "query parameter size: Input should be less than or equal to 500"),
        ("/alerts", {"size": "ten"}, "query parameter size: Input should be a valid integer"),
        ("/alerts", {"severity": "SEVERE"}, "query parameter severity: Input should be 'LOW', 'MEDIUM', 'HIGH' or"),
        ("/alerts", {"patternType": "wash"}, "query parameter patternType: must be a pattern name in capitals"),
        ("/alerts", {"category": "orders"}, "query parameter category: Input should be 'trades' or 'order_book'"),
        ("/alerts", {"userId": "U\x01"}, "query parameter userId: must not contain control characters"),
        ("/alerts", {"symbol": "x" * 201}, "query parameter symbol: String should have at most 200 characters"),
        ("/alerts", {"from": "soon"}, "from is not a valid instant, got 'soon': use ISO-8601"),
        ("/alerts", {"to": "2025-02-30"}, "to is not a valid date"),
        ("/alerts", {"from": "2025-11-24", "to": "2025-11-23"}, "is after to (2025-11-23T23:59:59.999Z): swap them"),
        ("/alerts", {"search_after": "abc"}, "search_after is not a cursor this API returned"),
        ("/users/U1/risk", {"trades": "101"}, "query parameter trades: Input should be less than or equal to 100"),
        ("/users/U1/risk", {"from": "2020-01-01", "to": "2025-01-01"}, "ask for at most 366 days"),
        ("/reports/compliance", None, "query parameter from: Field required; query parameter to: Field required"),
        ("/reports/compliance", {"from": "2025-11-01", "to": ""}, "query parameter to: String should have at least"),
        ("/reports/compliance", {"from": "1", "to": "2", "format": "xls"}, "format: Input should be 'json' or 'csv'"),
        ("/reports/compliance", {"from": "1", "to": "2", "top": "0"}, "top: Input should be greater than or equal"),
    ],
)
def test_bad_parameters_are_400_with_what_to_fix(
    call: Call, client: FakeSearch, path: str, query: dict[str, str] | None, message: str
) -> None:
    status, _, body = call("GET", path, query)
    assert status == 400
    assert message in body["message"]
    assert client.searches == []  # refused before anything was searched


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"note": "x"}, "body field acknowledgedBy: Field required"),
        ({"acknowledgedBy": "   "}, "body field acknowledgedBy: String should have at least 1 character"),
        ({"acknowledgedBy": "jane", "extra": 1}, "body field extra: Extra inputs are not permitted"),
        ({"acknowledgedBy": "jane", "note": "n" * 2001}, "body field note: String should have at most 2000"),
        ({"acknowledgedBy": 7}, "body field acknowledgedBy: Input should be a valid string"),
        ({"acknowledgedBy": "jane\ndoe"}, "body field acknowledgedBy: must not contain control characters"),
        (None, "body: Field required"),
        ("{not json", "the body is not valid JSON: send a JSON object such as"),
    ],
)
def test_bad_acknowledgements_are_400_with_what_to_fix(call: Call, client: FakeSearch, body: Any, message: str) -> None:
    status, _, answer = call("POST", "/alerts/a1/acknowledge", body=body)
    assert status == 400 and message in answer["message"]
    assert client.writes == []


def test_a_body_that_is_not_json_is_415(module: ModuleType, client: FakeSearch) -> None:
    event = rest_event("POST", "/alerts/a1/acknowledge", body="jane")
    event["multiValueHeaders"] = {"Content-Type": ["text/plain"]}
    event["headers"] = {"Content-Type": "text/plain"}
    response = module.lambda_handler(event, LocalContext())
    assert response["statusCode"] == 415
    assert json.loads(response["body"]) == {
        "message": "send the body as JSON, with the header Content-Type: application/json"
    }


def test_json_sent_as_a_form_is_415_saying_to_set_the_content_type(module: ModuleType, client: FakeSearch) -> None:
    event = rest_event("POST", "/alerts/a1/acknowledge", body={"acknowledgedBy": "jane"})  # like curl -d '{...}'
    event["multiValueHeaders"] = {"Content-Type": ["application/x-www-form-urlencoded"]}
    event["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    response = module.lambda_handler(event, LocalContext())
    assert response["statusCode"] == 415 and "Content-Type: application/json" in response["body"]


def test_acknowledgement_is_201_with_the_recorded_acknowledgement(call: Call, client: FakeSearch) -> None:
    client.responses.append(hits({"userId": "U1", "patternType": "LARGE_ORDER", "severity": "CRITICAL"}))
    status, _, body = call("POST", "/alerts/a%2F1/acknowledge", body={"acknowledgedBy": "jane.doe"})
    assert status == 201
    assert body["alertId"] == "a/1" and body["acknowledgedBy"] == "jane.doe" and body["severity"] == "CRITICAL"
    assert client.writes[0]["body"]["ackId"] == body["ackId"]


def test_acknowledging_an_unknown_alert_is_404(call: Call, client: FakeSearch) -> None:
    client.responses.append(nothing())
    status, _, body = call("POST", "/alerts/zz/acknowledge", body={"acknowledgedBy": "jane.doe"})
    assert status == 404 and body["message"].startswith("no alert with alertId 'zz'")


def test_an_unknown_path_is_a_json_404(call: Call) -> None:
    status, _, body = call("GET", "/alert")
    assert status == 404 and body == {"message": "no endpoint GET /alert: see /docs/reports for the endpoints"}


def test_search_outage_is_503_with_retry_after(call: Call, client: FakeSearch) -> None:
    client.responses.append(SearchConnectionError("N/A", "Connection refused", None))
    status, headers, body = call("GET", "/users/U1/risk")
    assert status == 503 and headers["Retry-After"] == "5" and "try again" in body["message"]


def test_an_unexpected_failure_is_a_json_500_with_the_request_id(call: Call, client: FakeSearch) -> None:
    client.responses.append(RequestError(400, "parsing_exception", {}))
    status, _, body = call("GET", "/alerts")
    assert status == 500 and body == {"message": "internal error; quote request id req-1 when reporting it"}


def test_compliance_csv_is_an_attachment(call: Call, client: FakeSearch) -> None:
    client.responses += [nothing(), nothing()]
    november = {"from": "2025-11-01", "to": "2025-11-30", "format": "csv"}
    status, headers, text = call("GET", "/reports/compliance", november)
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == (
        'attachment; filename="compliance-report_20251101T000000Z_20251130T235959Z.csv"'
    )
    assert text.startswith("section,key,metric,value\r\nperiod,from,,2025-11-01T00:00:00.000Z\r\n")


def test_user_risk_defaults_to_the_last_30_days(call: Call, client: FakeSearch) -> None:
    client.responses += [nothing(), nothing()]
    status, _, body = call("GET", "/users/U%201/risk")
    assert status == 200 and body["userId"] == "U 1"
    assert len(body["daily"]) in (30, 31)  # 30 x 24 h touch 31 UTC days unless they start at midnight
    [(_, alerts_query, _), (_, trades_query, _)] = client.searches
    assert trades_query["size"] == 20
    assert alerts_query["query"]["bool"]["filter"][0] == {"term": {"userId": "U 1"}}


def test_alerts_of_one_category_are_asked_for_by_their_patterns(call: Call, client: FakeSearch) -> None:
    client.responses.append(nothing())
    status, _, body = call("GET", "/alerts", {"category": "order_book", "userId": "U1"})
    assert status == 200 and body == {"alerts": [], "total": 0, "nextCursor": None}
    [(index, query, _)] = client.searches
    assert index == "risk-alerts"
    assert query["query"]["bool"]["filter"][1:] == [
        {"term": {"userId": "U1"}},
        {"terms": {"patternType": ["EXCESSIVE_CANCELS", "LAYERING", "SPOOFING"]}},
    ]


def test_openapi_spec_documents_every_endpoint_and_parameter(call: Call) -> None:
    status, _, spec = call("GET", "/docs/reports", {"format": "json"})
    assert status == 200 and spec["info"]["title"] == "riskengine reporting API"
    paths = spec["paths"]
    assert set(paths) == {"/alerts", "/users/{userId}/risk", "/reports/compliance", "/alerts/{alertId}/acknowledge"}
    names = {p["name"] for p in paths["/alerts"]["get"]["parameters"]}
    assert names == {
        "userId", "patternType", "category", "severity", "symbol", "exchange", "from", "to", "size", "search_after",
    }  # fmt: skip
    assert "201" in paths["/alerts/{alertId}/acknowledge"]["post"]["responses"]
    assert "text/csv" in paths["/reports/compliance"]["get"]["responses"]["200"]["content"]
    assert spec["components"]["schemas"]["AcknowledgeRequest"]["required"] == ["acknowledgedBy"]


def test_the_committed_document_is_the_generated_one(module: ModuleType) -> None:
    committed = (DOCS_API / "reports.openapi.json").read_text(encoding="utf-8")
    assert committed == module.app.get_openapi_json_schema() + "\n", (
        "docs/api/reports.openapi.json is stale: run `riskengine api openapi --out docs/api`"
    )
