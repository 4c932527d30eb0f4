"""API Gateway (REST, proxy integration): the trade intake API and the simulation's controls.

``POST /trades`` checks every trade with the scorer's own rules (``riskengine.validation``), all
or nothing, and writes them to the trades topic as Confluent Avro keyed by userId.
``/simulation/*`` start, stop and read the simulation that ``functions/simulate_trades`` ticks.
The OpenAPI document is generated from this module: Swagger UI at ``GET /docs/ingest``, JSON at
``GET /docs/ingest?format=json`` and in ``docs/api/ingest.openapi.json``. Behaviour and defaults: docs/api.md.
"""

# No ``from __future__ import annotations``: Powertools and pydantic read these annotations at run
# time, and this module is imported from a file path, outside sys.modules.
import functools
import time
import uuid
from typing import Annotated, Any, Literal, Self

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, RootModel, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from riskengine import __version__
from riskengine.codec import RegistryUnavailable
from riskengine.errors import InvalidTrade, SinkError, StateStoreError
from riskengine.model import OrderType, Side
from riskengine.observability import powertools
from riskengine.settings import Settings
from riskengine.simulation import (
    MAX_DURATION_S,
    MAX_RATE_PER_S,
    MAX_SEED,
    MAX_USERS,
    SimulationAlreadyRunning,
    SimulationPlan,
    SimulationRun,
    default_control,
    default_trade_producer,
)
from riskengine.simulator.config import MIN_USERS
from riskengine.validation import OPTIONAL_STRINGS, REQUIRED_NUMBERS, REQUIRED_STRINGS, validate_trade

MAX_TRADES_PER_REQUEST = 500
TRADE_FIELDS = frozenset((*REQUIRED_STRINGS, *REQUIRED_NUMBERS, *OPTIONAL_STRINGS, "side", "orderType", "timestamp"))
JSON = content_types.APPLICATION_JSON

__all__ = ["app", "lambda_handler"]

logger, _metrics, tracer = powertools("ingest-trade")
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    title="riskengine trade intake",
    version=__version__,
    description=(
        "Submit crypto trades to the risk engine (validated with the scorer's own rules, written to the "
        "trades topic as Confluent Avro) and drive the live trading simulation."
    ),
)
app.enable_swagger(path="/docs/ingest")


@functools.cache
def _settings() -> Settings:
    return Settings.from_env()


# --- models (they are the OpenAPI document) ------------------------------------------------------


class _Wire(BaseModel):
    """snake_case in Python, camelCase on the wire, like the CryptoTrade schema."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class CryptoTradeIn(_Wire):
    """A CryptoTrade as the API takes it. Documentation only: the scorer's validator decides (docs/api.md)."""

    model_config = ConfigDict(extra="forbid", title="CryptoTradeIn")

    trade_id: str | None = Field(None, description="Unique trade id. Generated (`api-<uuid4>`) when absent or null.")
    user_id: str = Field(description="Account that placed the order; the Kafka key.")
    customer_id: str = Field(description="Legal customer owning the account.")
    symbol: str = Field(pattern=r"^[A-Z0-9]{2,12}/[A-Z0-9]{2,12}$", description="BASE/QUOTE, e.g. BTC/USDT.")
    base_asset: str | None = Field(None, description="Must match the symbol; taken from it when absent.")
    quote_asset: str | None = Field(None, description="Must match the symbol; taken from it when absent.")
    side: Side
    order_type: OrderType
    quantity: float = Field(gt=0, description="Filled quantity in baseAsset units.")
    price: float = Field(gt=0, description="Fill price in quoteAsset per baseAsset unit.")
    notional: float | None = Field(
        None, gt=0, description="Value in USD, within 1 % of quantity x price; quantity x price when absent."
    )
    timestamp: int | None = Field(
        None,
        gt=0,
        description="Event time, epoch ms; at most MAX_FUTURE_SKEW_MS (5 min) ahead. The server's clock when absent.",
    )
    exchange: str = Field(description="Venue that executed the trade, e.g. BINANCE.")
    wallet_address: str | None = None
    session_id: str | None = None
    ip_address: str | None = None
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")
    order_id: str | None = None
    counterparty_user_id: str | None = None


_DOCUMENTED_BODY = TypeAdapter(
    CryptoTradeIn | Annotated[list[CryptoTradeIn], Field(min_length=1, max_length=MAX_TRADES_PER_REQUEST)]
)


class TradesBody(RootModel):
    """Any JSON value reaches the handler, so every trade is judged by ``validate_trade`` and reported
    by index (a scalar is trade 0, not an object); the OpenAPI document still shows CryptoTradeIn."""

    # Not RootModel[...]: parametrising a generic model needs this module in sys.modules, and the
    # local tools import handlers from their file path. The list member tells Powertools that an
    # array body is one value (it would otherwise keep only its first element).
    root: list[Any] | Any

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(_DOCUMENTED_BODY.core_schema)


class AcceptedTrades(_Wire):
    accepted: int = Field(description="Trades written to the topic.")
    topic: str
    trade_ids: list[str] = Field(description="Ids of the trades in request order, generated ones included.")


class TradeProblem(_Wire):
    index: int | None = Field(description="Position in the request (0 for a single object); null for the request.")
    trade_id: str | None = Field(description="The trade's tradeId as sent, when it had one.")
    reason: str = Field(description="Stable machine reason, the scorer's dead-letter reason where one applies.")
    detail: str = Field(description="What to fix.")


class RejectedTrades(_Wire):
    message: str
    errors: list[TradeProblem]


class ErrorMessage(_Wire):
    message: str


class SimulationStartIn(_Wire):
    model_config = ConfigDict(extra="forbid", strict=True)

    rate_per_second: float = Field(20.0, gt=0, le=MAX_RATE_PER_S, description="Trades per second of event time.")
    duration_seconds: int = Field(300, ge=1, le=MAX_DURATION_S, description="Length of the run.")
    users: int = Field(500, ge=MIN_USERS, le=MAX_USERS, description="Simulated traders; at least 2 x ratePerSecond.")
    seed: int = Field(7, ge=0, le=MAX_SEED, description="The same seed gives the same trades.")

    @model_validator(mode="after")
    def _is_a_valid_plan(self) -> Self:
        self.plan()  # cross-field limits (users per rate, trades per run) with the engine's messages
        return self

    def plan(self) -> SimulationPlan:
        return SimulationPlan(self.rate_per_second, self.duration_seconds, self.users, self.seed)


class SimulationStats(_Wire):
    state: Literal["idle", "running", "stopped", "finished"] = Field(
        description="idle: no run yet (or it expired a day after its end)."
    )
    run_id: str | None = None
    rate_per_second: float | None = None
    duration_seconds: int | None = None
    users: int | None = None
    seed: int | None = None
    started_at_ms: int | None = None
    stops_at_ms: int | None = Field(None, description="Planned end: trades are stamped before it.")
    ended_at_ms: int | None = Field(None, description="When the run was stopped or its last trade claimed.")
    last_tick_at_ms: int | None = None
    claimed: int = Field(0, description="Trades handed to ticks so far (sequence numbers 0..claimed-1).")
    produced: int = Field(0, description="Trades written to the topic.")
    failed: int = Field(0, description="Claimed trades whose write failed; they are not retried.")

    @classmethod
    def of(cls, run: SimulationRun | None) -> Self:
        if run is None:
            return cls(state="idle")
        return cls(
            state=run.status.value,
            run_id=run.run_id,
            rate_per_second=run.plan.rate_per_s,
            duration_seconds=run.plan.duration_s,
            users=run.plan.users,
            seed=run.plan.seed,
            started_at_ms=run.started_at_ms,
            stops_at_ms=run.stops_at_ms,
            ended_at_ms=run.ended_at_ms,
            last_tick_at_ms=run.last_tick_at_ms,
            claimed=run.claimed,
            produced=run.produced,
            failed=run.failed,
        )


def _content(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"model": model}}}


UNAVAILABLE = _content(ErrorMessage, "Kafka, the schema registry or Redis is unavailable: retry later.")
NOT_JSON = _content(ErrorMessage, "The body is not sent as application/json.")


# --- routes --------------------------------------------------------------------------------------


class NotJson(Exception):
    """A body sent with another Content-Type (curl's ``-d`` sends a form unless told otherwise)."""


class TradesRejected(Exception):
    def __init__(self, message: str, problems: list[TradeProblem]) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems


@app.post(
    "/trades",
    status_code=202,
    tags=["trades"],
    summary="Submit one trade or an array of trades",
    description=(
        f"All or nothing: if any trade is invalid, none is written and the 400 lists every invalid trade by "
        f"index. At most {MAX_TRADES_PER_REQUEST} trades per request. Unknown fields are rejected."
    ),
    responses={
        202: _content(AcceptedTrades, "Every trade was written to the trades topic."),
        400: _content(RejectedTrades, "Invalid trades (or an unreadable body: errors is empty); nothing was written."),
        415: NOT_JSON,
        503: UNAVAILABLE,
    },
)
def post_trades(
    body: Annotated[TradesBody, Body(description="A CryptoTrade object or an array of them.")],
) -> AcceptedTrades:
    if _sent_as_form_or_text():
        raise NotJson
    items = body.root if isinstance(body.root, list) else [body.root]
    records = _checked_trades(items, _now_ms())
    producer = default_trade_producer()
    producer.send(records)
    logger.info("trades accepted", extra={"count": len(records)})
    return AcceptedTrades(accepted=len(records), topic=producer.topic, trade_ids=[r["tradeId"] for r in records])


@app.post(
    "/simulation/start",
    status_code=202,
    tags=["simulation"],
    summary="Start a simulation run",
    description="Ticks then produce its trades as their event time comes. Without a body the defaults apply.",
    responses={
        202: _content(SimulationStats, "The run is stored; ticks produce its trades."),
        400: _content(ErrorMessage, "The body is invalid; the message says which field and why."),
        409: _content(ErrorMessage, "A run is still running: stop it first."),
        415: NOT_JSON,
        503: UNAVAILABLE,
    },
)
def start_simulation(request: Annotated[SimulationStartIn | None, Body()] = None) -> SimulationStats:
    run = default_control().start((request or SimulationStartIn()).plan(), _now_ms())
    logger.info("simulation started", extra={"run_id": run.run_id, "stops_at_ms": run.stops_at_ms})
    return SimulationStats.of(run)


@app.post(
    "/simulation/stop",
    tags=["simulation"],
    summary="Stop the running simulation",
    description="Idempotent: answers the current state whether or not a run was running.",
    responses={200: _content(SimulationStats, "The state after stopping."), 503: UNAVAILABLE},
)
def stop_simulation() -> SimulationStats:
    return SimulationStats.of(default_control().stop(_now_ms()))


@app.get(
    "/simulation/stats",
    tags=["simulation"],
    summary="State and counters of the current (or last) run",
    responses={200: _content(SimulationStats, "The current state."), 503: UNAVAILABLE},
)
def simulation_stats() -> SimulationStats:
    return SimulationStats.of(default_control().read())


# --- errors --------------------------------------------------------------------------------------


@app.exception_handler(TradesRejected)
def _trades_rejected(exc: TradesRejected) -> Response:
    return _json(400, RejectedTrades(message=exc.message, errors=exc.problems))


@app.exception_handler(SimulationAlreadyRunning)
def _already_running(exc: SimulationAlreadyRunning) -> Response:
    return _json(409, ErrorMessage(message=exc.detail))


@app.exception_handler([SinkError, RegistryUnavailable])
def _kafka_unavailable(exc: Exception) -> Response:
    logger.exception("writing trades failed")
    message = (
        f"the trades could not be written ({exc}); some may have been. Send the same request again: "
        "consumers deduplicate by tradeId (trades sent without one get a new id on every attempt)"
    )
    return _json(503, ErrorMessage(message=message), headers={"Retry-After": "5"})


@app.exception_handler(StateStoreError)
def _redis_unavailable(exc: StateStoreError) -> Response:
    logger.exception("simulation state unavailable")
    message = f"{exc.detail.rstrip('.')}; try again shortly"
    return _json(503, ErrorMessage(message=message), headers={"Retry-After": "5"})


@app.exception_handler([NotJson, RequestUnsupportedContentType])
def _not_json(_: Exception) -> Response:
    message = (
        "send the body as JSON with Content-Type: application/json (with curl: -H 'Content-Type: application/json')"
    )
    return _json(415, ErrorMessage(message=message))


@app.exception_handler(RequestValidationError)
def _unreadable_request(exc: RequestValidationError) -> Response:
    if _sent_as_form_or_text():  # Powertools parsed a form; its errors would only confuse
        return _not_json(exc)
    message = "; ".join(_describe(error) for error in exc.errors())
    if app.current_event.path == "/trades":  # keep that route's documented 400 shape
        return _json(400, RejectedTrades(message=message, errors=[]))
    return _json(400, ErrorMessage(message=message))


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error in words, without echoing the input (Powertools' default hides the words too)."""
    if error["type"] == "json_invalid":
        return "the body is not valid JSON"
    if error["type"] == "missing" and tuple(error["loc"]) == ("body",):
        return "the body is empty: send JSON"
    # A value_error is the engine's own sentence (SimulationPlan), without pydantic's "Value error, " prefix.
    problem = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    field = ".".join(str(part) for part in error["loc"][1:])
    return f"body field {field}: {problem}" if field else f"body: {problem}"


@app.not_found
def _no_route(_: Exception) -> Response:
    event = app.current_event
    return _json(404, ErrorMessage(message=f"no endpoint {event.http_method} {event.path}: see /docs/ingest"))


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unexpected error")
    request_id = app.lambda_context.aws_request_id
    return _json(500, ErrorMessage(message=f"internal error; quote request id {request_id} when reporting it"))


def _sent_as_form_or_text() -> bool:
    content_type = app.current_event.headers.get("content-type", "").strip()
    return bool(content_type) and not content_type.startswith(JSON)


def _json(status: int, model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    return Response(status, JSON, model.model_dump(mode="json", by_alias=True), headers=headers)


# --- request checks ------------------------------------------------------------------------------


def _checked_trades(items: list[Any], now_ms: int) -> list[dict[str, Any]]:
    """The records to write, or TradesRejected naming every trade that is not acceptable."""
    if not items:
        raise TradesRejected("the request holds no trades", [_request_problem("empty_request", "send at least one")])
    if len(items) > MAX_TRADES_PER_REQUEST:
        detail = f"{len(items)} trades in one request; at most {MAX_TRADES_PER_REQUEST}: split it into several requests"
        raise TradesRejected("too many trades", [_request_problem("too_many_trades", detail)])
    records: list[dict[str, Any]] = []
    problems: list[TradeProblem] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            record = _checked_trade(item, now_ms)
        except InvalidTrade as exc:
            problems.append(TradeProblem(index=index, trade_id=_sent_id(item), reason=exc.reason, detail=exc.detail))
            continue
        trade_id = record["tradeId"]
        if trade_id in first_index:
            detail = f"tradeId {trade_id!r} is also trade {first_index[trade_id]} of this request"
            problems.append(TradeProblem(index=index, trade_id=trade_id, reason="duplicate_trade_id", detail=detail))
            continue
        first_index[trade_id] = index
        records.append(record)
    if problems:
        message = f"{len(problems)} of {len(items)} trades are invalid; nothing was written. Fix them and resend all."
        raise TradesRejected(message, problems)
    return records


def _checked_trade(item: Any, now_ms: int) -> dict[str, Any]:
    """The complete CryptoTrade record of one item, or InvalidTrade with the scorer's reason."""
    record = _with_defaults(item, now_ms) if isinstance(item, dict) else item
    try:
        trade = validate_trade(record, now_ms=now_ms, max_future_skew_ms=_settings().max_future_skew_ms)
    except OverflowError as exc:  # an integer too large for a double
        raise InvalidTrade(f"a number does not fit a double: {exc}", reason="bad_field_type") from exc
    unknown = sorted(set(record) - TRADE_FIELDS)
    if unknown:
        # The Avro schema would drop them silently; a misspelt optional field must not vanish.
        detail = f"unknown field(s) {', '.join(map(repr, unknown))}; the CryptoTrade fields are in the OpenAPI document"
        raise InvalidTrade(detail, reason="unknown_field")
    return trade.record


def _with_defaults(raw: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Fill what the server can derive (docs/api.md, "Server-side defaults"); values sent are kept as sent."""
    record = dict(raw)
    if record.get("tradeId") is None:
        record["tradeId"] = f"api-{uuid.uuid4()}"
    if record.get("timestamp") is None:
        record["timestamp"] = now_ms
    symbol = record.get("symbol")
    assets_absent = record.get("baseAsset") is None and record.get("quoteAsset") is None
    if isinstance(symbol, str) and symbol.count("/") == 1 and assets_absent:
        record["baseAsset"], record["quoteAsset"] = symbol.split("/")
    quantity, price = record.get("quantity"), record.get("price")
    if record.get("notional") is None and _is_number(quantity) and _is_number(price):
        record["notional"] = round(quantity * price, 8)
    return record


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sent_id(item: Any) -> str | None:
    trade_id = item.get("tradeId") if isinstance(item, dict) else None
    return trade_id if isinstance(trade_id, str) else None


def _request_problem(reason: str, detail: str) -> TradeProblem:
    return TradeProblem(index=None, trade_id=None, reason=reason, detail=detail)


def _now_ms() -> int:
    return int(time.time() * 1000)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
