"""import_saved_objects against a stand-in for OpenSearch Dashboards.

A unit test: the server is a throwaway stdlib HTTP server on loopback that records the request and
answers the way Dashboards' ``_import`` API does. No real Dashboards runs on this machine, so this
checks the request we send (path, query, osd-xsrf header, multipart file, credentials, SigV4 over
the body) and how we read the answers, not Dashboards itself.
"""

import hashlib
import json
import threading
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opensearchpy import AWSV4SignerAuth

from riskengine.errors import ConfigurationError
from riskengine.search import SearchAuth, SearchConfig
from riskengine.search.dashboards import (
    DashboardsImportError,
    dashboards_auth,
    import_saved_objects,
    load_saved_objects,
    saved_objects_ndjson,
)
from riskengine_tools.local import free_port


class StandIn(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.requests: list[dict[str, Any]] = []
        self.reply: tuple[int, Any] = (200, None)  # None: a full success for what was sent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/_dashboards"


class Recorder(BaseHTTPRequestHandler):
    server: StandIn

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
        )
        parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "parts": parts})
        status, answer = self.server.reply
        if answer is None:
            sent = [json.loads(line) for line in parts["file"].get_content().splitlines() if line.strip()]
            results = [{"type": o["type"], "id": o["id"], "meta": {"title": o["attributes"]["title"]}} for o in sent]
            answer = {"success": True, "successCount": len(results), "successResults": results}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def dashboards() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_import_posts_the_ndjson_as_a_multipart_file_with_the_xsrf_header(dashboards: StandIn) -> None:
    result = import_saved_objects(dashboards.url + "/", auth=("compliance", "s3cret"))

    (request,) = dashboards.requests
    assert request["path"] == "/_dashboards/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["osd-xsrf"] == "true"
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request["headers"]["Authorization"].startswith("Basic ")
    file = request["parts"]["file"]
    assert file.get_filename() == "compliance.ndjson"
    assert file.get_content() == saved_objects_ndjson()
    assert result.success_count == 9
    assert dict(result.by_type) == {"index-pattern": 2, "visualization": 6, "dashboard": 1}
    assert result.summary() == "9 objects (1 dashboard, 2 index-pattern, 6 visualization)"


def test_sigv4_signs_the_multipart_body(dashboards: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    auth = dashboards_auth(SearchConfig(auth=SearchAuth.SIGV4, region="eu-west-1"))
    assert isinstance(auth, AWSV4SignerAuth)  # the client's own signer

    import_saved_objects(dashboards.url, auth=auth)

    (request,) = dashboards.requests
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["authorization"]
    assert "osd-xsrf" in headers["authorization"]  # among the SignedHeaders
    assert headers["x-amz-content-sha256"] == hashlib.sha256(request["body"]).hexdigest()


def test_auth_follows_the_search_configuration() -> None:
    assert dashboards_auth(SearchConfig()) is None
    assert dashboards_auth(SearchConfig(auth=SearchAuth.BASIC, username="u", password="p")) == ("u", "p")


def test_sigv4_without_credentials_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigurationError, match="no AWS credentials"):
        dashboards_auth(SearchConfig(auth=SearchAuth.SIGV4, region="eu-west-1"))


def test_objects_dashboards_rejects_are_named_in_the_error(dashboards: StandIn) -> None:
    dashboards.reply = (
        200,
        {
            "success": False,
            "successCount": 6,
            "errors": [
                {
                    "id": "riskengine-top-risky-users",
                    "type": "visualization",
                    "title": "Top risky users",
                    "error": {
                        "type": "missing_references",
                        "references": [{"type": "index-pattern", "id": "riskengine-risk-analyzed-trades"}],
                    },
                }
            ],
        },
    )
    with pytest.raises(DashboardsImportError) as caught:
        import_saved_objects(dashboards.url)
    message = str(caught.value)
    assert "visualization/riskengine-top-risky-users (Top risky users): missing_references" in message
    assert "missing index-pattern/riskengine-risk-analyzed-trades" in message


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (401, {"statusCode": 401, "error": "Unauthorized"}, "refused the import \\(HTTP 401\\): check --auth"),
        (400, {"statusCode": 400, "message": "Invalid file extension .txt"}, "HTTP 400 .*Invalid file extension"),
    ],
)
def test_http_errors_are_explained(dashboards: StandIn, status: int, answer: dict[str, Any], expected: str) -> None:
    dashboards.reply = (status, answer)
    with pytest.raises(DashboardsImportError, match=expected):
        import_saved_objects(dashboards.url)


def test_an_unreachable_dashboards_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DashboardsImportError, match=f"cannot reach OpenSearch Dashboards at {url}"):
        import_saved_objects(url, timeout_s=2)


def test_the_loader_and_the_file_agree() -> None:
    assert [obj["id"] for obj in load_saved_objects()][-1] == "riskengine-compliance"
