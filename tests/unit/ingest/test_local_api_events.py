"""The local API Gateway stand-in: routing, the REST proxy event it builds, the HTTP response it writes."""

from __future__ import annotations

import base64

import pytest

from riskengine_tools.local.api_server import http_response, proxy_event, route


@pytest.mark.parametrize(
    ("path", "function"),
    [
        ("/trades", "ingest_trade"),
        ("/simulation/stats", "ingest_trade"),
        ("/docs/ingest", "ingest_trade"),
        ("/alerts", "report_api"),
        ("/users/USER_1/risk", "report_api"),
        ("/reports/compliance", "report_api"),
        ("/docs/reports", "report_api"),
        ("/tradesX", None),
        ("/docs", None),
        ("/", None),
    ],
)
def test_paths_route_by_whole_prefix(path: str, function: str | None) -> None:
    assert route(path) == function


def test_the_event_has_the_rest_proxy_shape() -> None:
    headers = [("Content-Type", "application/json"), ("X-Tag", "a"), ("X-Tag", "b"), ("User-Agent", "curl/8")]
    event = proxy_event("POST", "/trades?dry=1&tag=x&tag=y", headers, b'{"a": 1}', "127.0.0.1")
    assert event["httpMethod"] == "POST"
    assert event["path"] == event["resource"] == "/trades"
    assert event["headers"]["X-Tag"] == "b"
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["queryStringParameters"] == {"dry": "1", "tag": "y"}
    assert event["multiValueQueryStringParameters"] == {"dry": ["1"], "tag": ["x", "y"]}
    assert event["pathParameters"] is None
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["httpMethod"]) == ("local", "/trades", "POST")
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "curl/8"}
    assert context["requestId"] != proxy_event("GET", "/trades", [], b"", "127.0.0.1")["requestContext"]["requestId"]


def test_an_empty_request_has_no_body_and_no_parameters() -> None:
    event = proxy_event("GET", "/simulation/stats", [], b"", "127.0.0.1")
    assert event["body"] is None
    assert event["headers"] is event["queryStringParameters"] is event["multiValueQueryStringParameters"] is None


def test_a_binary_body_travels_base64_encoded() -> None:
    event = proxy_event("POST", "/trades", [], b"\xff\x00", "127.0.0.1")
    assert (event["body"], event["isBase64Encoded"]) == (base64.b64encode(b"\xff\x00").decode(), True)


def test_the_response_keeps_status_headers_and_body() -> None:
    response = http_response(
        {
            "statusCode": 503,
            "headers": {"Retry-After": "5", "Content-Length": "999"},
            "multiValueHeaders": {"Content-Type": ["application/json"], "Set-Cookie": ["a=1", "b=2"]},
            "body": '{"message": "later"}',
            "isBase64Encoded": False,
        }
    )
    assert response.status == 503
    assert response.headers == [
        ("Retry-After", "5"),
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]  # Content-Length is recomputed by the server
    assert response.body == b'{"message": "later"}'


def test_a_base64_response_body_is_decoded() -> None:
    result = {"statusCode": 200, "body": base64.b64encode(b"\x1f\x8b gzip").decode(), "isBase64Encoded": True}
    assert http_response(result).body == b"\x1f\x8b gzip"
