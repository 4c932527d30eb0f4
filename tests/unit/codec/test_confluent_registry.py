"""ConfluentSchemaRegistry against a tiny in-process fake of the Confluent REST API."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import fastavro
import pytest

from riskengine.codec import (
    TRADES_SUBJECT,
    AvroCodec,
    ConfluentSchemaRegistry,
    FixedIdRegistry,
    RegistryUnavailable,
    UnknownSchemaId,
    registry_from_env,
)

LOCAL = FixedIdRegistry()
V2_ONLY_FIELDS = ["walletAddress", "sessionId", "ipAddress", "country", "orderId", "counterpartyUserId"]
FIRST_ID = 100  # deliberately unlike the fixed ids: the client must use whatever the registry says
TRADE = {
    "tradeId": "t-1",
    "userId": "u-1",
    "customerId": "c-1",
    "symbol": "ETH-USDT",
    "baseAsset": "ETH",
    "quoteAsset": "USDT",
    "side": "BUY",
    "orderType": "MARKET",
    "quantity": 2.0,
    "price": 3000.0,
    "notional": 6000.0,
    "timestamp": 1_732_500_000_000,
    "exchange": "KRAKEN",
}


class FakeRegistry(ThreadingHTTPServer):
    """Just enough of the Confluent API: register (idempotent), lookup by id, injected failures."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.schemas: dict[int, str] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.fail_status: int | None = None
        self.raw_answer: bytes | None = None
        self.delay_s = 0.0
        self.expected_auth: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def register(self, schema_text: str) -> int:
        for schema_id, text in self.schemas.items():
            if json.loads(text) == json.loads(schema_text):
                return schema_id
        schema_id = FIRST_ID + len(self.schemas)
        self.schemas[schema_id] = schema_text
        return schema_id


class FakeHandler(BaseHTTPRequestHandler):
    server: FakeRegistry
    error_bodies: ClassVar[dict[int, dict[str, Any]]] = {
        401: {"error_code": 40101, "message": "Unauthorized"},
        404: {"error_code": 40403, "message": "Schema not found"},
        409: {"error_code": 409, "message": "Schema being registered is incompatible"},
        500: {"error_code": 50001, "message": "Error in the backend datastore"},
    }

    def log_message(self, fmt: str, *args: Any) -> None:
        """Keep pytest output clean."""

    def do_GET(self) -> None:
        self._handle(None)

    def do_POST(self) -> None:
        self._handle(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

    def _handle(self, body: Any) -> None:
        server = self.server
        server.requests.append((self.command, self.path, dict(self.headers), body))
        time.sleep(server.delay_s)
        if server.expected_auth and self.headers.get("Authorization") != server.expected_auth:
            return self._reply(401, self.error_bodies[401])
        if server.fail_status:
            return self._reply(server.fail_status, self.error_bodies[server.fail_status])
        if server.raw_answer is not None:
            return self._reply(200, server.raw_answer)
        if self.command == "POST":
            return self._reply(200, {"id": server.register(body["schema"])})
        schema_id = int(self.path.rsplit("/", 1)[1])
        if schema_id not in server.schemas:
            return self._reply(404, self.error_bodies[404])
        return self._reply(200, {"schema": server.schemas[schema_id]})

    def _reply(self, status: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    server = FakeRegistry()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def client(fake: FakeRegistry) -> ConfluentSchemaRegistry:
    return ConfluentSchemaRegistry(fake.url, timeout_s=2.0, local=LOCAL)


def test_latest_registers_the_local_current_schema(fake: FakeRegistry, client: ConfluentSchemaRegistry) -> None:
    schema_id, schema = client.latest(TRADES_SUBJECT)
    assert schema_id == FIRST_ID
    assert schema == LOCAL.latest(TRADES_SUBJECT)[1]
    [(method, path, headers, body)] = fake.requests
    assert (method, path) == ("POST", f"/subjects/{TRADES_SUBJECT}/versions")
    assert headers["Content-Type"] == "application/vnd.schemaregistry.v1+json"
    assert body["schemaType"] == "AVRO"
    assert json.loads(body["schema"]) == LOCAL.versions(TRADES_SUBJECT)[-1][2]


def test_latest_is_cached(fake: FakeRegistry, client: ConfluentSchemaRegistry) -> None:
    assert client.latest(TRADES_SUBJECT) is client.latest(TRADES_SUBJECT)
    assert len(fake.requests) == 1


def test_registration_is_idempotent_across_clients(fake: FakeRegistry) -> None:
    first = ConfluentSchemaRegistry(fake.url, local=LOCAL).latest(TRADES_SUBJECT)[0]
    second = ConfluentSchemaRegistry(fake.url, local=LOCAL).latest(TRADES_SUBJECT)[0]
    assert first == second == FIRST_ID


def test_own_schema_id_needs_no_lookup(fake: FakeRegistry, client: ConfluentSchemaRegistry) -> None:
    codec = AvroCodec(client)
    value = codec.encode(TRADES_SUBJECT, TRADE)
    assert value[1:5] == FIRST_ID.to_bytes(4, "big")
    assert codec.decode(TRADES_SUBJECT, value)["tradeId"] == "t-1"
    assert [method for method, *_ in fake.requests] == ["POST"]


def test_foreign_schema_is_fetched_once_and_resolved(fake: FakeRegistry, client: ConfluentSchemaRegistry) -> None:
    """A v1 producer registered its schema elsewhere: we fetch it by id (once) and read it as v2."""
    v1_id = fake.register(json.dumps(LOCAL.versions(TRADES_SUBJECT)[0][2]))
    buf = io.BytesIO()
    buf.write(bytes([0]) + v1_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, LOCAL.schema_for_id(1), TRADE)
    codec = AvroCodec(client)
    for _ in range(3):
        decoded = codec.decode(TRADES_SUBJECT, buf.getvalue())
    assert decoded == {**TRADE, **dict.fromkeys(V2_ONLY_FIELDS)}
    gets = [path for method, path, *_ in fake.requests if method == "GET"]
    assert gets == [f"/schemas/ids/{v1_id}"]


def test_unknown_id_maps_to_unknown_schema_id(client: ConfluentSchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaId, match="Schema not found") as caught:
        client.schema_for_id(4242)
    assert caught.value.reason == "unknown_schema_id"


@pytest.mark.parametrize("status", [500, 409])
def test_http_errors_map_to_registry_unavailable(
    fake: FakeRegistry, client: ConfluentSchemaRegistry, status: int
) -> None:
    fake.fail_status = status
    with pytest.raises(RegistryUnavailable) as caught:
        client.latest(TRADES_SUBJECT)
    assert caught.value.reason == "registry_unavailable"
    assert f"HTTP {status}" in caught.value.detail
    assert FakeHandler.error_bodies[status]["message"] in caught.value.detail
    assert fake.url in caught.value.detail


def test_failures_are_not_cached(fake: FakeRegistry, client: ConfluentSchemaRegistry) -> None:
    fake.fail_status = 500
    with pytest.raises(RegistryUnavailable):
        client.latest(TRADES_SUBJECT)
    fake.fail_status = None
    assert client.latest(TRADES_SUBJECT)[0] == FIRST_ID


def test_server_error_on_lookup_is_not_an_unknown_id(fake: FakeRegistry, client: ConfluentSchemaRegistry) -> None:
    fake.fail_status = 500
    with pytest.raises(RegistryUnavailable):
        client.schema_for_id(FIRST_ID)


@pytest.mark.parametrize("answer", [b"<html>proxy error</html>", b"{}", b'{"schema": "not json"}'])
def test_malformed_answers_map_to_registry_unavailable(
    fake: FakeRegistry, client: ConfluentSchemaRegistry, answer: bytes
) -> None:
    fake.raw_answer = answer
    with pytest.raises(RegistryUnavailable):
        client.schema_for_id(FIRST_ID)


def test_refused_connection_maps_to_registry_unavailable() -> None:
    with socket.socket() as sock:  # bind then close: a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ConfluentSchemaRegistry(f"http://127.0.0.1:{port}", timeout_s=2.0, local=LOCAL)
    with pytest.raises(RegistryUnavailable, match=r"ConnectionRefusedError|URLError"):
        client.latest(TRADES_SUBJECT)


def test_timeout_maps_to_registry_unavailable(fake: FakeRegistry) -> None:
    fake.delay_s = 0.3
    client = ConfluentSchemaRegistry(fake.url, timeout_s=0.1, local=LOCAL)
    with pytest.raises(RegistryUnavailable, match="timed out"):
        client.latest(TRADES_SUBJECT)


def test_basic_auth_is_sent(fake: FakeRegistry) -> None:
    fake.expected_auth = "Basic " + base64.b64encode(b"svc:s3cret").decode()
    assert ConfluentSchemaRegistry(fake.url, ("svc", "s3cret"), local=LOCAL).latest(TRADES_SUBJECT)[0] == FIRST_ID
    with pytest.raises(RegistryUnavailable, match="HTTP 401"):
        ConfluentSchemaRegistry(fake.url, ("svc", "wrong"), local=LOCAL).latest(TRADES_SUBJECT)


def test_registry_from_env_defaults_to_fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEMA_REGISTRY_URL", raising=False)
    assert isinstance(registry_from_env(), FixedIdRegistry)


def test_registry_from_env_uses_confluent_when_configured(fake: FakeRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", fake.url + "/")
    monkeypatch.setenv("SCHEMA_REGISTRY_USER", "svc")
    monkeypatch.setenv("SCHEMA_REGISTRY_PASSWORD", "s3cret")
    fake.expected_auth = "Basic " + base64.b64encode(b"svc:s3cret").decode()
    registry = registry_from_env()
    assert isinstance(registry, ConfluentSchemaRegistry)
    assert registry.latest(TRADES_SUBJECT)[0] == FIRST_ID
