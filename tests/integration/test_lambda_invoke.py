"""The bridge's invoke path, as it runs against LocalStack, with a stand-in for LocalStack: the real bridge consumes
the real broker and calls a local stub of Lambda's Invoke API through a real boto3 client. The stub answers
``POST /2015-03-31/functions/{name}/invocations`` by running the real score_trades handler (on redis-server) or a
scripted function. Checked: MSK events reach the function, its response commits the offsets, a partial-batch
response rewinds, a function error is retried and finally stops the bridge, and `riskengine bridge` end to end."""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import builders
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from typer.testing import CliRunner

from riskengine.codec import ANALYZED_TRADES_SUBJECT, AvroCodec, FixedIdRegistry
from riskengine.model import SourceRecord
from riskengine.msk import parse_event
from riskengine_tools.cli.app import app
from riskengine_tools.local import EmbeddedBroker, EmbeddedRedis
from riskengine_tools.local.bridge import BridgeConfig, BridgeError, BridgeStats, EventSourceMappingBridge, load_handler
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.lambda_invoke import LambdaInvoker, lambda_client
from riskengine_tools.local.paths import function_handler

pytestmark = pytest.mark.integration

FUNCTION = "riskengine-score-trades"
INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")
SESSION_TIMEOUT_MS = 6_000
RUN_TIMEOUT_S = 30.0
PARTITIONS = 2
Position = tuple[int, int]  # (partition, offset)
# A function of the stub: the event in, (the payload to answer, the X-Amz-Function-Error or None) out.
Function = Callable[[dict[str, Any]], tuple[Any, str | None]]


@dataclass
class Invocation:
    function: str
    headers: dict[str, str]
    records: list[SourceRecord]

    @property
    def positions(self) -> list[Position]:
        return [(r.partition, r.offset) for r in self.records]


@dataclass
class LambdaApiStub:
    """Lambda's Invoke API on 127.0.0.1: named functions, every invocation recorded."""

    functions: dict[str, Function]
    invocations: list[Invocation] = field(default_factory=list)
    url: str = ""

    @contextmanager
    def serving(self) -> Iterator[LambdaApiStub]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        thread = threading.Thread(target=server.serve_forever, name="lambda-api-stub", daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                match = INVOKE_PATH.fullmatch(self.path)
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                name = unquote(match["name"]) if match else ""
                if name not in stub.functions:
                    self._send(404, {"Type": "User", "Message": f"Function not found: {name}"},
                               {"x-amzn-ErrorType": "ResourceNotFoundException"})  # fmt: skip
                    return
                stub.invocations.append(Invocation(name, dict(self.headers), parse_event(event)))
                payload, error = stub.functions[name](event)
                headers = {"X-Amz-Executed-Version": "$LATEST"} | ({"X-Amz-Function-Error": error} if error else {})
                if self.headers.get("X-Amz-Log-Type") == "Tail":
                    headers["X-Amz-Log-Result"] = base64.b64encode(b"START\nfunction log\nEND\n").decode()
                self._send(200, payload, headers)

            def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def positions(self) -> list[Position]:
        return [position for invocation in self.invocations for position in invocation.positions]


def like_lambda(handler: Callable[[dict[str, Any]], Any]) -> Function:
    """Run a handler as Lambda does: its return value is the payload; an exception is an Unhandled error."""

    def run(event: dict[str, Any]) -> tuple[Any, str | None]:
        try:
            return handler(event), None
        except Exception as exc:
            trace = traceback.format_exception(exc)
            return {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": trace}, "Unhandled"

    return run


def scripted(*answers: Any) -> Function:
    """Answer the n-th invocation with ``answers[n]`` (the last one from then on); an exception raises."""
    calls = itertools.count()

    def run(event: dict[str, Any]) -> Any:
        answer = answers[min(next(calls), len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer(event) if callable(answer) else answer

    return like_lambda(run)


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def topic(kafka_broker: EmbeddedBroker, run_id: str) -> str:
    name = f"invoke-{run_id}"
    kafka_broker.create_topics([name], partitions=PARTITIONS)
    return name


def config(broker: EmbeddedBroker, topic: str, **overrides: Any) -> BridgeConfig:
    settings: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap_servers,
        "topic": topic,
        "group_id": f"group-{topic}",
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "batching_window_ms": 300,
        "alignment_wait_ms": 200,
        "retry_backoff_s": 0.01,
    }
    return BridgeConfig(**(settings | overrides))


def produce_trades(broker: EmbeddedBroker, topic: str, count: int) -> dict[Position, str]:
    """Valid JSON trades of two users (one per partition); returns where each went -> its trade id."""
    trades = [builders.trade(f"t-{topic}-{n}", user=f"U{n % 2}", at=n * 1_000) for n in range(count)]
    with closing(KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")) as producer:
        futures = [
            producer.send(topic, partition=n % PARTITIONS, key=t["userId"].encode(), value=json.dumps(t).encode())
            for n, t in enumerate(trades)
        ]
        producer.flush()
        metas = [future.get(timeout=10) for future in futures]
    return {(meta.partition, meta.offset): t["tradeId"] for meta, t in zip(metas, trades, strict=True)}


def run_bridge(cfg: BridgeConfig, endpoint_url: str, records: int, function: str = FUNCTION) -> BridgeStats:
    """The bridge, invoking through a real boto3 client, until ``records`` records were acknowledged."""
    bridge = EventSourceMappingBridge(cfg, LambdaInvoker(lambda_client(endpoint_url), function))
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        return bridge.run(until=lambda stats: stats.records >= records or time.monotonic() > deadline)
    finally:
        bridge.close()


def committed(cfg: BridgeConfig) -> dict[int, int | None]:
    consumer = KafkaConsumer(bootstrap_servers=cfg.bootstrap_servers, group_id=cfg.group_id, enable_auto_commit=False)
    with closing(consumer):
        return {p: consumer.committed(TopicPartition(cfg.topic, p)) for p in range(PARTITIONS)}


def end_offsets(placed: dict[Position, str]) -> dict[int, int]:
    return {p: max(offset for partition, offset in placed if partition == p) + 1 for p in range(PARTITIONS)}


def read_topic(broker: EmbeddedBroker, topic: str, expected: int) -> list[bytes]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest", consumer_timeout_ms=5_000
    )
    with closing(consumer):
        values = []
        for record in consumer:
            values.append(record.value)
            if len(values) >= expected:
                break
        return values


def test_the_real_handler_behind_the_invoke_api_scores_every_record_and_the_offsets_are_committed(
    kafka_broker: EmbeddedBroker, redis_server: EmbeddedRedis, topic: str, run_id: str
) -> None:
    analyzed, alerts, dead_letters = f"analyzed-{run_id}", f"alerts-{run_id}", f"dlq-{run_id}"
    kafka_broker.create_topics([analyzed, alerts, dead_letters], partitions=1)
    placed = produce_trades(kafka_broker, topic, 12)
    env = {
        "REDIS_URL": redis_server.url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "RISKENGINE_SINK": "kafka",
        "ANALYZED_TOPIC": analyzed,
        "ALERTS_TOPIC": alerts,
        "DEAD_LETTER_TOPIC": dead_letters,
    }
    cfg = config(kafka_broker, topic, batch_size=5)
    with handler_environment(env):
        stub = LambdaApiStub({FUNCTION: like_lambda(load_handler(function_handler("score_trades")))})
        with stub.serving():
            stats = run_bridge(cfg, stub.url, len(placed))

    assert sorted(stub.positions()) == sorted(placed)  # every record reached the function once, as MSK events
    assert all(len(invocation.records) <= 5 for invocation in stub.invocations)
    for invocation in stub.invocations:
        assert invocation.function == FUNCTION
        assert invocation.headers["X-Amz-Invocation-Type"] == "RequestResponse"
    assert (stats.records, stats.retries) == (len(placed), 0)
    codec = AvroCodec(FixedIdRegistry())
    scored = [codec.decode(ANALYZED_TRADES_SUBJECT, value) for value in read_topic(kafka_broker, analyzed, 12)]
    assert sorted(record["originalTrade"]["tradeId"] for record in scored) == sorted(placed.values())
    assert committed(cfg) == end_offsets(placed)


def test_a_partial_batch_response_rewinds_only_the_failed_partition(kafka_broker: EmbeddedBroker, topic: str) -> None:
    placed = produce_trades(kafka_broker, topic, 8)
    failed_from: list[Position] = []

    def fail_partition_zero_from_its_second_record(event: dict[str, Any]) -> dict[str, Any]:
        offsets = sorted(r.offset for r in parse_event(event) if r.partition == 0)
        failed_from.append((0, offsets[1]))
        return {"batchItemFailures": [{"itemIdentifier": {"partition": f"{topic}-0", "offset": offsets[1]}}]}

    stub = LambdaApiStub({FUNCTION: scripted(fail_partition_zero_from_its_second_record, {"batchItemFailures": []})})
    cfg = config(kafka_broker, topic, batch_size=100, batching_window_ms=800)
    with stub.serving():
        stats = run_bridge(cfg, stub.url, len(placed))

    first, second, *rest = stub.invocations
    assert not rest
    assert sorted(first.positions) == sorted(placed)
    (rewound,) = failed_from
    assert sorted(second.positions) == sorted(p for p in placed if p[0] == 0 and p[1] >= rewound[1])
    assert stats.retries == 1
    assert committed(cfg) == end_offsets(placed)


def test_a_function_error_is_retried_with_the_same_records_and_then_committed(
    kafka_broker: EmbeddedBroker, topic: str
) -> None:
    placed = produce_trades(kafka_broker, topic, 4)
    stub = LambdaApiStub({FUNCTION: scripted(RuntimeError("redis went away"), None)})
    cfg = config(kafka_broker, topic, batch_size=100, batching_window_ms=800)
    with stub.serving():
        stats = run_bridge(cfg, stub.url, len(placed))

    assert [sorted(invocation.positions) for invocation in stub.invocations] == [sorted(placed)] * 2
    assert stats.retries == 1
    assert committed(cfg) == end_offsets(placed)


def test_a_function_that_keeps_failing_stops_the_bridge_without_committing(
    kafka_broker: EmbeddedBroker, topic: str
) -> None:
    placed = produce_trades(kafka_broker, topic, 4)
    stub = LambdaApiStub({FUNCTION: scripted(RuntimeError("still broken"))})
    cfg = config(kafka_broker, topic, batch_size=100, batching_window_ms=800, max_retry_attempts=2)
    with stub.serving(), pytest.raises(BridgeError, match="after 2 retries"):
        run_bridge(cfg, stub.url, len(placed))

    assert [sorted(invocation.positions) for invocation in stub.invocations] == [sorted(placed)] * 3
    assert committed(cfg) == dict.fromkeys(range(PARTITIONS))


def test_riskengine_bridge_invokes_until_ctrl_c_then_commits_and_stops(
    kafka_broker: EmbeddedBroker, topic: str
) -> None:
    placed = produce_trades(kafka_broker, topic, 6)
    stub = LambdaApiStub({FUNCTION: scripted({"batchItemFailures": []})})
    group = f"cli-{topic}"

    def interrupt_once_every_record_was_invoked() -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while len(stub.positions()) < len(placed) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # the command's handler stops the bridge after the batch

    args = ["bridge", "--topic", topic, "--function", FUNCTION, "--bootstrap-servers", kafka_broker.bootstrap_servers,
            "--group-id", group, "--batching-window-ms", "800"]  # fmt: skip
    ctrl_c = signal.getsignal(signal.SIGINT)
    with stub.serving():
        threading.Thread(target=interrupt_once_every_record_was_invoked, daemon=True).start()
        result = CliRunner().invoke(app, [*args, "--endpoint-url", stub.url])

    assert result.exit_code == 0, result.output
    assert f"Stopped: {len(stub.invocations)} batches, {len(placed)} records, 0 retries." in result.output
    assert signal.getsignal(signal.SIGINT) is ctrl_c  # the command put Ctrl-C's handler back
    assert committed(config(kafka_broker, topic, group_id=group)) == end_offsets(placed)


def test_riskengine_bridge_exits_1_when_the_function_does_not_exist(kafka_broker: EmbeddedBroker, topic: str) -> None:
    produce_trades(kafka_broker, topic, 2)
    stub = LambdaApiStub({FUNCTION: scripted(None)})
    args = ["bridge", "--topic", topic, "--function", "no-such-function", "--bootstrap-servers",
            kafka_broker.bootstrap_servers, "--max-retries", "0", "--batching-window-ms", "100"]  # fmt: skip
    with stub.serving():
        result = CliRunner().invoke(app, [*args, "--endpoint-url", stub.url])

    assert result.exit_code == 1, result.output
    assert "stopped:" in result.output
    assert stub.invocations == []  # the stub answered 404 (ResourceNotFoundException) and invoked nothing
