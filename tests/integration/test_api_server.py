"""The local API Gateway stand-in over real HTTP, and ``riskengine api`` as a user runs it.

The server turns requests into proxy events for the real ingest_trade handler (redis-server and
the broker behind it); ``riskengine api serve`` is started as a process and stopped with Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from kafka import KafkaConsumer, TopicPartition

from riskengine.codec import TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis, EmbeddedSearch, free_port
from riskengine_tools.local.api_server import ApiOptions, LocalApiServer, load_functions, serve_local_api
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.topics import ensure_topics

pytestmark = pytest.mark.integration

RISKENGINE = Path(sys.executable).parent / "riskengine"
DOCS_API = Path(__file__).resolve().parents[2] / "docs" / "api"
TRADE = {
    "tradeId": "HTTP-1",
    "userId": "USER_7",
    "customerId": "CUST_7",
    "symbol": "SOL/USDT",
    "side": "BUY",
    "orderType": "LIMIT",
    "quantity": 10.0,
    "price": 180.0,
    "exchange": "OKX",
}


def http(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, dict(error.headers), error.read()
    is_json = headers.get("Content-Type", "").startswith("application/json")
    return status, headers, json.loads(raw) if is_json else raw


def first_trade(bootstrap_servers: str, topic: str) -> dict[str, Any] | None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                return AvroCodec(FixedIdRegistry()).decode(TRADES_SUBJECT, batch[0].value)
    finally:
        consumer.close()
    return None


@pytest.fixture
def topic(kafka_broker: EmbeddedBroker) -> str:
    name = f"trades-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_broker.bootstrap_servers, [name])
    return name


@pytest.fixture
def server(
    redis_server: EmbeddedRedis, redis_client: redis.Redis, kafka_broker: EmbeddedBroker, topic: str
) -> Iterator[LocalApiServer]:
    env = {
        "REDIS_URL": redis_server.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "TRADES_TOPIC": topic,
    }
    with handler_environment(env), LocalApiServer(load_functions(["ingest_trade"])) as running:
        yield running


def test_a_trade_posted_over_http_reaches_the_topic(server: LocalApiServer, kafka_broker: EmbeddedBroker, topic: str):
    status, headers, body = http("POST", f"{server.url}/trades", TRADE)
    assert (status, body) == (202, {"accepted": 1, "topic": topic, "tradeIds": ["HTTP-1"]})
    assert headers["Content-Type"] == "application/json"
    written = first_trade(kafka_broker.bootstrap_servers, topic)
    assert written is not None
    assert (written["tradeId"], written["notional"], written["baseAsset"]) == ("HTTP-1", 1_800.0, "SOL")


def test_invalid_trades_over_http_are_a_400_listing_them(server: LocalApiServer) -> None:
    status, _, body = http("POST", f"{server.url}/trades", [TRADE, dict(TRADE, tradeId="HTTP-2", side="HOLD")])
    assert status == 400
    assert [(error["index"], error["reason"]) for error in body["errors"]] == [(1, "unknown_side")]


def test_simulation_stats_over_http(server: LocalApiServer) -> None:
    status, _, body = http("GET", f"{server.url}/simulation/stats")
    assert (status, body["state"], body["produced"]) == (200, "idle", 0)


def test_the_openapi_document_and_swagger_ui_are_served(server: LocalApiServer) -> None:
    status, _, document = http("GET", f"{server.url}/docs/ingest?format=json")
    assert status == 200 and "/trades" in document["paths"]
    status, headers, page = http("GET", f"{server.url}/docs/ingest")
    assert (status, headers["Content-Type"]) == (200, "text/html")
    assert b"swagger" in page.lower()


def test_unrouted_and_unloaded_paths_are_404_with_a_message(server: LocalApiServer) -> None:
    status, _, body = http("GET", f"{server.url}/nothing/here")
    assert status == 404
    assert body["message"].startswith("no function serves /nothing/here; the API has /trades, /simulation")
    status, _, body = http("GET", f"{server.url}/alerts")
    assert status == 404
    assert body["message"].startswith("/alerts is served by functions/report_api, which this server has not loaded")


def test_a_function_that_raises_is_a_502_like_api_gateway() -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("bug")

    with LocalApiServer({"ingest_trade": broken}) as running:
        status, _, body = http("POST", f"{running.url}/trades", TRADE)
    assert (status, body) == (502, {"message": "Internal server error"})


# --- the CLI --------------------------------------------------------------------------------------


def riskengine(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [str(RISKENGINE), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        (("api",), ("serve", "openapi")),
        (("api", "serve"), ("--port", "--redis-url", "--bootstrap-servers", "--opensearch-url", "--verbose", "Ctrl-C")),
        (("api", "openapi"), ("--out", "ingest.openapi.json")),
    ],
)
def test_every_api_command_has_help(command: tuple[str, ...], mentions: tuple[str, ...]) -> None:
    result = riskengine(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert [word for word in mentions if word not in result.stdout] == []


def test_openapi_writes_the_committed_document(tmp_path: Path) -> None:
    result = riskengine("api", "openapi", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "ingest.openapi.json").read_text(encoding="utf-8")
    assert written == (DOCS_API / "ingest.openapi.json").read_text(encoding="utf-8")
    assert "/trades" in json.loads(written)["paths"]


def test_serve_ticks_the_simulation_and_stops_cleanly_on_ctrl_c(
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    kafka_broker: EmbeddedBroker,
    search_server: EmbeddedSearch,
    topic: str,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        str(RISKENGINE), "api", "serve", "--port", str(port), "--redis-url", redis_server.url,
        "--bootstrap-servers", kafka_broker.bootstrap_servers, "--opensearch-url", search_server.url, "--no-pipeline",
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TRADES_TOPIC": topic}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert _wait_for(lambda: _answers(f"{url}/simulation/stats")), "the server did not come up"
        status, _, started = http("POST", f"{url}/simulation/start", {"ratePerSecond": 100, "users": 200})
        assert status == 202
        # Nobody ticks but the server's schedule, so produced trades prove it runs.
        assert _wait_for(lambda: http("GET", f"{url}/simulation/stats")[2]["produced"] > 0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert f"{url}" in stdout and "/simulation/start" in stdout
    assert "Stopped." in stderr
    assert first_trade(kafka_broker.bootstrap_servers, topic)["tradeId"] == f"sim-{started['runId']}-0"


def _answers(url: str) -> bool:
    try:
        return http("GET", url)[0] == 200
    except OSError:
        return False


def _wait_for(condition: Any, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_posted_wash_trade_is_scored_indexed_and_found_through_the_reporting_api(
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
    kafka_broker: EmbeddedBroker,
    search_server: EmbeddedSearch,
    search_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = uuid.uuid4().hex[:8]
    for variable, name in (
        ("TRADES_TOPIC", "trades"),
        ("ORDERS_TOPIC", "orders"),
        ("ANALYZED_TOPIC", "analyzed"),
        ("ALERTS_TOPIC", "alerts"),
    ):
        monkeypatch.setenv(variable, f"{name}-{run}")  # this test's own topics: no other test's records
    user, now_ms = f"USER_{run}", int(time.time() * 1000)
    trades = [
        TRADE | {"tradeId": f"{run}-{i}", "userId": user, "side": side, "timestamp": now_ms - 60_000 + 10_000 * i}
        for i, side in enumerate(["BUY", "SELL", "BUY"])
    ]
    options = ApiOptions(
        port=free_port(),
        redis_url=redis_server.url,
        bootstrap_servers=kafka_broker.bootstrap_servers,
        opensearch_url=search_server.url,
    )
    with serve_local_api(options) as api:
        status, _, accepted = http("POST", f"{api.url}/trades", trades)
        assert status == 202 and accepted["tradeIds"] == [t["tradeId"] for t in trades]
        alerts_url = f"{api.url}/alerts?userId={user}"
        assert _wait_for(lambda: http("GET", alerts_url)[2]["alerts"], timeout_s=60), "no alert was indexed"
        [alert] = http("GET", alerts_url)[2]["alerts"]
        risk_url = f"{api.url}/users/{user}/risk"  # analysed trades come through their own trigger
        assert _wait_for(lambda: len(http("GET", risk_url)[2]["latestTrades"]) == 3, timeout_s=60), "trades missing"
        status, _, risk = http("GET", risk_url)
    assert alert["patternType"] == "WASH_TRADING" and alert["userId"] == user
    assert sorted(alert["triggeredEvents"]) == [t["tradeId"] for t in trades]
    assert status == 200 and sorted(t["tradeId"] for t in risk["latestTrades"]) == [t["tradeId"] for t in trades]
    assert api.triggers == (
        f"score_trades <- trades-{run}",
        f"score_orders <- orders-{run}",  # the order events' trigger runs beside it, as deployed
        f"index_search <- analyzed-{run}",
        f"index_search <- alerts-{run}",
    )
