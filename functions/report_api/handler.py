"""API Gateway (REST API, Lambda proxy integration): the compliance officers' reporting API.

A thin adapter. Powertools validates every parameter against the signatures below, which also
generate the OpenAPI spec (Swagger UI at ``/docs/reports``); ``riskengine.reporting`` searches
OpenSearch through the index aliases. Every error is JSON ``{"message": ...}`` saying what to fix.
"""

import time
from http import HTTPStatus
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from riskengine import __version__, reporting
from riskengine.apis import JSON, ErrorWording, install_error_handlers, json_content, json_error
from riskengine.model import RiskLevel
from riskengine.observability import powertools
from riskengine.reporting import (
    Acknowledgement,
    AcknowledgeRequest,
    AlertFilters,
    AlertNotFound,
    AlertPage,
    ComplianceReport,
    ErrorBody,
    InvalidParameter,
    SearchUnavailable,
    TimeRange,
    UserRisk,
)
from riskengine.reporting.models import PRINTABLE
from riskengine.search import ORDER_BOOK_PATTERNS, AlertCategory, default_client

__all__ = ["app", "lambda_handler"]

logger, _metrics, tracer = powertools("report-api")
app = APIGatewayRestResolver(enable_validation=True)
# configure_openapi names the document for get_openapi_json_schema() (riskengine api openapi) as well as the UI
app.configure_openapi(
    title="riskengine reporting API",
    version=__version__,
    description="Alerts, user risk and compliance reports for compliance officers; the acknowledgement audit trail.",
)
app.enable_swagger(path="/docs/reports")

USER_RISK_DEFAULT_DAYS = 30
USER_RISK_MAX_DAYS = 366
INSTANT = "ISO-8601 (2025-11-23T10:00:00Z; a bare date is a whole UTC day) or epoch milliseconds."
PATTERN_NAME = r"^[A-Z][A-Z0-9_]*$"

WORDING = ErrorWording(
    docs_hint="see /docs/reports for the endpoints",
    not_json="send the body as JSON, with the header Content-Type: application/json",
    invalid_json='the body is not valid JSON: send a JSON object such as {"acknowledgedBy": "jane.doe"}',
    pattern_meanings={
        PATTERN_NAME: "must be a pattern name in capitals, such as WASH_TRADING",
        PRINTABLE: "must not contain control characters",
    },
)
install_error_handlers(app, WORDING, logger)

ERRORS: dict[int, Any] = {
    400: json_content(ErrorBody, "A parameter or the body is invalid; the message says which and how to fix it."),
    503: json_content(ErrorBody, "OpenSearch cannot be reached or is overloaded; retry later."),
}


def _name(alias: str, description: str) -> Any:
    """A query parameter holding an identifier or name, matched exactly."""
    return Query(alias=alias, min_length=1, max_length=200, pattern=PRINTABLE, description=description)


@app.get("/alerts", summary="List alerts, newest first", responses=ERRORS)
def get_alerts(
    user_id: Annotated[str | None, _name("userId", "Only this user's alerts.")] = None,
    pattern_type: Annotated[
        str | None, Query(alias="patternType", max_length=64, pattern=PATTERN_NAME, description="e.g. WASH_TRADING")
    ] = None,
    category: Annotated[
        AlertCategory | None,
        Query(description=f"order_book: {', '.join(sorted(ORDER_BOOK_PATTERNS))}; trades: every other pattern."),
    ] = None,
    severity: Annotated[RiskLevel | None, Query(description="Exact severity.")] = None,
    symbol: Annotated[str | None, _name("symbol", "Trading pair, e.g. BTC/USDT.")] = None,
    exchange: Annotated[str | None, _name("exchange", "Venue, e.g. BINANCE.")] = None,
    from_: Annotated[str | None, Query(alias="from", min_length=1, max_length=64, description=INSTANT)] = None,
    to: Annotated[str | None, Query(min_length=1, max_length=64, description=INSTANT)] = None,
    size: Annotated[int, Query(ge=1, le=500, description="Alerts per page.")] = 50,
    search_after: Annotated[
        str | None, Query(min_length=1, max_length=1000, description="The nextCursor of the previous page.")
    ] = None,
) -> AlertPage:
    filters = AlertFilters(
        period=TimeRange.parse(from_, to),
        user_id=user_id,
        pattern_type=pattern_type,
        category=category,
        severity=severity,
        symbol=symbol,
        exchange=exchange,
    )
    return reporting.list_alerts(default_client(), filters, size, search_after)


@app.get("/users/<userId>/risk", summary="One user's risk over a period", responses=ERRORS)
def get_user_risk(
    user_id: Annotated[str, Path(alias="userId", min_length=1, max_length=200, pattern=PRINTABLE)],
    from_: Annotated[
        str | None,
        Query(alias="from", min_length=1, max_length=64, description=f"Default: 30 days before to. {INSTANT}"),
    ] = None,
    to: Annotated[str | None, Query(min_length=1, max_length=64, description=f"Default: now. {INSTANT}")] = None,
    trades: Annotated[int, Query(ge=1, le=100, description="How many of the latest trades to list.")] = 20,
) -> UserRisk:
    period = TimeRange.trailing(from_, to, now_ms=_now_ms(), days=USER_RISK_DEFAULT_DAYS, max_days=USER_RISK_MAX_DAYS)
    return reporting.user_risk(default_client(), unquote(user_id), period, trades)


@app.get(
    "/reports/compliance",
    summary="Compliance report of a period (JSON or CSV)",
    responses={
        200: {
            "description": "The report; with format=csv a CSV attachment (section, key, metric, value).",
            "content": {
                JSON: {"model": ComplianceReport},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        **ERRORS,
    },
)
def get_compliance_report(
    from_: Annotated[str, Query(alias="from", min_length=1, max_length=64, description=INSTANT)],
    to: Annotated[str, Query(min_length=1, max_length=64, description=INSTANT)],
    top: Annotated[int, Query(ge=1, le=100, description="How many riskiest users to list.")] = 10,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response[ComplianceReport | str]:
    report = reporting.compliance_report(default_client(), TimeRange.parse(from_, to), top, now_ms=_now_ms())
    if output == "json":
        return Response(status_code=HTTPStatus.OK, content_type=JSON, body=report)
    return Response(
        status_code=HTTPStatus.OK,
        content_type="text/csv; charset=utf-8",
        body=reporting.compliance_csv(report),
        headers={"Content-Disposition": f'attachment; filename="{reporting.compliance_csv_filename(report)}"'},
    )


@app.post(
    "/alerts/<alertId>/acknowledge",
    summary="Acknowledge an alert (adds to the audit trail)",
    responses={
        201: json_content(Acknowledgement, "The acknowledgement as recorded."),
        404: json_content(ErrorBody, "There is no alert with this id."),
        **ERRORS,
    },
)
def post_acknowledgement(
    alert_id: Annotated[str, Path(alias="alertId", min_length=1, max_length=200, pattern=PRINTABLE)],
    body: Annotated[AcknowledgeRequest, Body()],
) -> Response[Acknowledgement]:
    ack = reporting.acknowledge(default_client(), unquote(alert_id), body, now_ms=_now_ms())
    logger.info("alert acknowledged", extra={"alert_id": ack.alert_id, "ack_id": ack.ack_id, "by": ack.acknowledged_by})
    return Response(status_code=HTTPStatus.CREATED, content_type=JSON, body=ack)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- this API's own errors (the shared ones: riskengine.apis) ------------------------------------


@app.exception_handler(InvalidParameter)
def _invalid_parameter(exc: InvalidParameter) -> Response[ErrorBody]:
    return json_error(HTTPStatus.BAD_REQUEST, exc.detail)


@app.exception_handler(AlertNotFound)
def _alert_not_found(exc: AlertNotFound) -> Response[ErrorBody]:
    return json_error(HTTPStatus.NOT_FOUND, exc.detail)


@app.exception_handler(SearchUnavailable)
def _search_unavailable(exc: SearchUnavailable) -> Response[ErrorBody]:
    logger.warning("search unavailable", extra={"detail": exc.detail, "cause": repr(exc.__cause__)})
    return json_error(HTTPStatus.SERVICE_UNAVAILABLE, exc.detail, headers={"Retry-After": "5"})


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
