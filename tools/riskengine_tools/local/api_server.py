"""A local stand-in for API Gateway (REST API, Lambda proxy integration) on 127.0.0.1.

Each HTTP request becomes the proxy event API Gateway would send (payload v1), the function
that owns the path answers it in-process, and its ``statusCode``/``headers``/``body`` become the
HTTP response. Requests are served on threads, but each function takes one event at a time, as
one Lambda container does (Powertools resolvers keep the current event on the app object).
:func:`serve_local_api` adds the services and the simulation's schedule (``riskengine api serve``).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from riskengine.search import ProvisionOptions, SearchConfig, create_client, provision
from riskengine.settings import Settings
from riskengine_tools.local.bridge import Invoke, load_handler
from riskengine_tools.local.broker import EmbeddedBroker
from riskengine_tools.local.environment import handler_environment
from riskengine_tools.local.errors import ServiceUnavailable
from riskengine_tools.local.lifecycle import BackgroundThreads, Startable
from riskengine_tools.local.paths import function_handler, import_handler
from riskengine_tools.local.ports import LOOPBACK
from riskengine_tools.local.redis_server import EmbeddedRedis
from riskengine_tools.local.search_server import EmbeddedSearch
from riskengine_tools.local.topics import ensure_topics
from riskengine_tools.local.triggers import BackgroundTriggers, indexing, scoring

logger = logging.getLogger(__name__)

# Path prefix -> function folder under functions/, as the API's resources would map them.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/trades", "ingest_trade"),
    ("/simulation", "ingest_trade"),
    ("/docs/ingest", "ingest_trade"),
    ("/alerts", "report_api"),
    ("/users", "report_api"),
    ("/reports", "report_api"),
    ("/docs/reports", "report_api"),
)
SCHEDULED_FUNCTION = "simulate_trades"
# Function folder -> stem of its OpenAPI document (docs/api/<stem>.openapi.json).
OPENAPI_DOCUMENTS: Mapping[str, str] = {"ingest_trade": "ingest", "report_api": "reports"}
STAGE = "local"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass
class LocalFunction:
    """One function's handler, invoked one event at a time."""

    name: str
    invoke: Invoke
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            return self.invoke(event)


def load_functions(names: Sequence[str]) -> dict[str, LocalFunction]:
    """Load ``functions/<name>/handler.py`` for each name; skip (and log) those missing or failing to import."""
    functions: dict[str, LocalFunction] = {}
    for name in dict.fromkeys(names):
        try:
            functions[name] = LocalFunction(name, load_handler(function_handler(name)))
        except FileNotFoundError:
            logger.warning("functions/%s is not in this checkout; its paths will answer 404", name)
        except Exception:
            # One function being edited must not keep the others from being served.
            logger.exception("functions/%s failed to import; its paths will answer 404", name)
    return functions


def route(path: str) -> str | None:
    """The function that owns ``path``, by prefix (``/trades`` owns ``/trades/x``, not ``/tradesx``)."""
    for prefix, name in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return name
    return None


def proxy_event(
    method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The API Gateway REST proxy event (v1) of one request; ``target`` is the request line's path and query."""
    url = urlsplit(target)
    query = parse_qsl(url.query, keep_blank_values=True)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": dict(headers) or None,
        "multiValueHeaders": _multi(headers) or None,
        "queryStringParameters": dict(query) or None,
        "multiValueQueryStringParameters": _multi(query) or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "requestId": str(uuid.uuid4()),
            "stage": STAGE,
            # Without the stage prefix: locally the API is served at the root, so links stay valid.
            "path": url.path,
            "resourcePath": url.path,
            "httpMethod": method,
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": _first(headers, "user-agent")},
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def _multi(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Mapping[str, Any]) -> HttpResponse:
    """The HTTP response of a proxy integration result (``multiValueHeaders`` win over ``headers``)."""
    headers = {name: [str(value)] for name, value in (result.get("headers") or {}).items()}
    headers |= {name: [str(v) for v in values] for name, values in (result.get("multiValueHeaders") or {}).items()}
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    pairs = [(name, value) for name, values in headers.items() for value in values if name.lower() != "content-length"]
    return HttpResponse(int(result.get("statusCode", HTTPStatus.OK)), pairs, raw)


def _json_response(status: HTTPStatus, message: str) -> HttpResponse:
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("Content-Type", "application/json")], body)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _ApiHttpServer
    # HTTP/1.0: one request per connection, so a client never waits on a half-read keep-alive stream.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET  # noqa: N815 (names http.server calls)

    def _serve(self) -> None:
        response = self.server.respond(self)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


class _ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, functions: Mapping[str, Callable[[dict[str, Any]], dict[str, Any] | None]]) -> None:
        super().__init__((LOOPBACK, port), _RequestHandler)
        self.functions = functions

    def respond(self, request: _RequestHandler) -> HttpResponse:
        path = urlsplit(request.path).path
        name = route(path)
        if name is None:
            prefixes = ", ".join(prefix for prefix, _ in ROUTES)
            return _json_response(HTTPStatus.NOT_FOUND, f"no function serves {path}; the API has {prefixes}")
        function = self.functions.get(name)
        if function is None:
            message = f"{path} is served by functions/{name}, which this server has not loaded (not in this checkout?)"
            return _json_response(HTTPStatus.NOT_FOUND, message)
        length_header = request.headers.get("Content-Length") or "0"
        if not length_header.isdigit():
            return _json_response(HTTPStatus.BAD_REQUEST, f"Content-Length {length_header!r} is not a byte count")
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            return _json_response(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body may be at most {MAX_BODY_BYTES} bytes"
            )
        body = request.rfile.read(length) if length else b""
        event = proxy_event(
            request.command, request.path, list(request.headers.items()), body, request.client_address[0]
        )
        try:
            result = function(event)
        except Exception:
            # What API Gateway answers when the function fails; the traceback goes to the log, not the client.
            logger.exception("functions/%s failed on %s %s", name, request.command, path)
            return _json_response(HTTPStatus.BAD_GATEWAY, "Internal server error")
        if not isinstance(result, Mapping) or "statusCode" not in result:
            logger.error("functions/%s returned %r, not a proxy integration response", name, result)
            return _json_response(HTTPStatus.BAD_GATEWAY, "Internal server error")
        return http_response(result)


class LocalApiServer(Startable):
    """The HTTP server on a loopback port, serving on a background thread until ``stop()``."""

    def __init__(self, functions: Mapping[str, Callable[[dict[str, Any]], dict[str, Any] | None]], port: int = 0):
        self._server = _ApiHttpServer(port, functions)
        # A short poll interval makes stop() quick: shutdown() waits for the loop to look again.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-api", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


def scheduled_event(rule: str = "simulate-trades-every-minute") -> dict[str, Any]:
    """An EventBridge scheduled event, as the schedule of ``functions/simulate_trades`` sends it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"],
        "detail": {},
    }


class Schedule(BackgroundThreads):
    """Invokes a function with a scheduled event every ``interval_s`` on a background thread, until ``stop()``.

    A failing invocation is logged and the next one runs on time, as with EventBridge.
    """

    def __init__(self, invoke: Callable[[dict[str, Any]], Any], interval_s: float = 1.0) -> None:
        super().__init__()
        self._invoke = invoke
        self._interval_s = interval_s
        self.add("local-schedule", self._run)

    def _run(self) -> None:
        while not self.stopping.wait(self._interval_s):
            try:
                self._invoke(scheduled_event())
            except Exception as exc:  # without the traceback: a lasting outage fails every second
                logger.error("scheduled invocation failed: %r", exc)


@dataclass(frozen=True, slots=True)
class ApiOptions:
    port: int = 8080
    redis_url: str | None = None
    bootstrap_servers: str | None = None
    opensearch_url: str | None = None
    tick_interval_s: float = 1.0
    pipeline: bool = True
    verbose: bool = False


@dataclass(frozen=True, slots=True)
class RunningApi:
    url: str
    redis_url: str
    bootstrap_servers: str
    opensearch_url: str
    functions: tuple[str, ...]  # the functions of this checkout that are being served or scheduled
    triggers: tuple[str, ...] = ()  # "function <- topic" of each trigger running in the background


@contextmanager
def serve_local_api(options: ApiOptions) -> Iterator[RunningApi]:
    """Serve the API functions on ``options.port`` and tick the simulation, on the given or embedded services.

    The port is bound before any service starts, so a busy port fails at once (ServiceUnavailable).
    On exit the schedule, the server and the services stop in that order.
    """
    functions: dict[str, LocalFunction] = {}
    with ExitStack() as stack:
        try:
            server = LocalApiServer(functions, port=options.port)
        except OSError as exc:
            raise ServiceUnavailable(
                f"cannot listen on {LOOPBACK}:{options.port} ({exc}): pass another --port"
            ) from exc
        stack.callback(server.stop)  # releases the port if a service fails to start
        redis_url = options.redis_url or stack.enter_context(EmbeddedRedis()).url
        bootstrap, replication = options.bootstrap_servers, -1  # a real cluster's default replication
        if not bootstrap:
            bootstrap, replication = stack.enter_context(EmbeddedBroker()).bootstrap_servers, 1
        topics, search = Settings.from_env().topics, SearchConfig.from_env()  # env vars may rename topics
        ensure_topics(bootstrap, [topics.trades, topics.orders, topics.analyzed, topics.alerts, topics.dead_letter,
                                  search.dead_letter_topic], replication_factor=replication)  # fmt: skip
        opensearch_url = options.opensearch_url or stack.enter_context(EmbeddedSearch()).url
        # One node locally: no replicas, or every index would stay yellow.
        provision(create_client(SearchConfig(url=opensearch_url)), ProvisionOptions(replicas=0))
        env = {"REDIS_URL": redis_url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "OPENSEARCH_URL": opensearch_url}
        stack.enter_context(handler_environment(env, verbose=options.verbose))
        triggers = (*scoring(topics), *indexing(topics)) if options.pipeline else ()
        if triggers:
            stack.enter_context(BackgroundTriggers(triggers, bootstrap))
        functions.update(load_functions([*(name for _, name in ROUTES), SCHEDULED_FUNCTION]))
        server.start()
        stack.callback(server.stop)  # stop() is idempotent: this one runs before the services stop
        if SCHEDULED_FUNCTION in functions:
            stack.enter_context(Schedule(functions[SCHEDULED_FUNCTION], options.tick_interval_s))
        running = tuple(f"{trigger.function} <- {trigger.topic}" for trigger in triggers)
        yield RunningApi(server.url, redis_url, bootstrap, opensearch_url, tuple(functions), running)


def function_module(name: str) -> ModuleType:
    """Import ``functions/<name>/handler.py`` as a module (its ``app``, not only its handler)."""
    return import_handler(function_handler(name))


def write_openapi_documents(out_dir: Path) -> tuple[list[Path], list[str]]:
    """Write ``<stem>.openapi.json`` for each API function in this checkout; return (written, missing functions)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    missing: list[str] = []
    for name, stem in OPENAPI_DOCUMENTS.items():
        try:
            module = function_module(name)
        except FileNotFoundError:
            missing.append(name)
            continue
        path = out_dir / f"{stem}.openapi.json"
        path.write_text(module.app.get_openapi_json_schema() + "\n", encoding="utf-8")
        written.append(path)
    return written, missing
