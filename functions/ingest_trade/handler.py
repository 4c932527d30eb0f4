"""API Gateway (REST, proxy integration): the trade intake API and the simulation's controls.

``POST /trades`` checks every trade with the scorer's own rules (``riskengine.intake``), all or
nothing, and writes them to the trades topic as Confluent Avro keyed by userId.
``/simulation/*`` start, stop and read the simulation that ``functions/simulate_trades`` ticks.
The OpenAPI document is generated from this module: Swagger UI at ``GET /docs/ingest``, JSON at
``GET /docs/ingest?format=json`` and in ``docs/api/ingest.openapi.json``. Behaviour and defaults: docs/api.md.
"""

# No ``from __future__ import annotations``: Powertools reads the routes' annotations at run time,
# and this module is imported from a file path, outside sys.modules.
import functools
import time
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine import __version__
from riskengine.apis import (
    ErrorWording,
    NotJsonBody,
    install_error_handlers,
    json_content,
    json_error,
    json_response,
    sent_as_json,
)
from riskengine.codec import RegistryUnavailable
from riskengine.errors import SinkError, StateStoreError
from riskengine.intake import (
    MAX_TRADES_PER_REQUEST,
    AcceptedTrades,
    ErrorMessage,
    RejectedTrades,
    SimulationStartIn,
    SimulationStats,
    TradesBody,
    TradesRejected,
    checked_trades,
    default_trade_producer,
)
from riskengine.observability import powertools
from riskengine.settings import Settings
from riskengine.simulation import SimulationAlreadyRunning, default_control

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

WORDING = ErrorWording(
    docs_hint="see /docs/ingest",
    not_json=(
        "send the body as JSON with Content-Type: application/json (with curl: -H 'Content-Type: application/json')"
    ),
    invalid_json="the body is not valid JSON",
    empty_body="the body is empty: send JSON",
)
UNAVAILABLE = json_content(ErrorMessage, "Kafka, the schema registry or Redis is unavailable: retry later.")
NOT_JSON = json_content(ErrorMessage, "The body is not sent as application/json.")


@functools.cache
def _settings() -> Settings:
    return Settings.from_env()


def _invalid_request(message: str) -> Response:
    if app.current_event.path == "/trades":  # keep that route's documented 400 shape
        return json_response(400, RejectedTrades(message=message, errors=[]))
    return json_error(400, message)


install_error_handlers(app, WORDING, logger, bad_request=_invalid_request)


# --- routes --------------------------------------------------------------------------------------


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
        202: json_content(AcceptedTrades, "Every trade was written to the trades topic."),
        400: json_content(
            RejectedTrades, "Invalid trades (or an unreadable body: errors is empty); nothing was written."
        ),
        415: NOT_JSON,
        503: UNAVAILABLE,
    },
)
def post_trades(
    body: Annotated[TradesBody, Body(description="A CryptoTrade object or an array of them.")],
) -> AcceptedTrades:
    if not sent_as_json(app.current_event):  # the body accepts any value, a parsed form included
        raise NotJsonBody
    settings = _settings()
    records = checked_trades(body.trades(), _now_ms(), settings.max_future_skew_ms, settings.max_trade_age_ms)
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
        202: json_content(SimulationStats, "The run is stored; ticks produce its trades."),
        400: json_content(ErrorMessage, "The body is invalid; the message says which field and why."),
        409: json_content(ErrorMessage, "A run is still running: stop it first."),
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
    responses={200: json_content(SimulationStats, "The state after stopping."), 503: UNAVAILABLE},
)
def stop_simulation() -> SimulationStats:
    return SimulationStats.of(default_control().stop(_now_ms()))


@app.get(
    "/simulation/stats",
    tags=["simulation"],
    summary="State and counters of the current (or last) run",
    responses={200: json_content(SimulationStats, "The current state."), 503: UNAVAILABLE},
)
def simulation_stats() -> SimulationStats:
    return SimulationStats.of(default_control().read())


# --- this API's own errors (the shared ones: riskengine.apis) ------------------------------------


@app.exception_handler(TradesRejected)
def _trades_rejected(exc: TradesRejected) -> Response:
    return json_response(400, RejectedTrades(message=exc.message, errors=exc.problems))


@app.exception_handler(SimulationAlreadyRunning)
def _already_running(exc: SimulationAlreadyRunning) -> Response:
    return json_error(409, exc.detail)


@app.exception_handler([SinkError, RegistryUnavailable])
def _kafka_unavailable(exc: Exception) -> Response:
    logger.exception("writing trades failed")
    message = (
        f"the trades could not be written ({exc}); some may have been. Send the same request again: "
        "consumers deduplicate by tradeId (trades sent without one get a new id on every attempt)"
    )
    return json_error(503, message, headers={"Retry-After": "5"})


@app.exception_handler(StateStoreError)
def _redis_unavailable(exc: StateStoreError) -> Response:
    logger.exception("simulation state unavailable")
    return json_error(503, f"{exc.detail.rstrip('.')}; try again shortly", headers={"Retry-After": "5"})


def _now_ms() -> int:
    return int(time.time() * 1000)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
