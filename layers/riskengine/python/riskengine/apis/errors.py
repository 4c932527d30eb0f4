"""The error answers the API functions share; each API only words them its own way (:class:`ErrorWording`).

Powertools' defaults answer ``{"statusCode": ..., "detail": [...]}`` with pydantic's internals; these
handlers answer ``{"message": ...}`` saying what to fix:

- 400 for an invalid request: one sentence per pydantic error, never echoing the input;
- 415 for a body not sent as JSON (curl's ``-d`` labels JSON as a form unless told otherwise);
- 404 for a path no route serves, pointing at the API's docs;
- 500 for anything unexpected: logged, and the answer quotes the request id.

Exceptions a route raises on purpose (a conflict, an outage) keep the handlers their API registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from riskengine.apis.responses import JSON, json_error

__all__ = ["ErrorWording", "NotJsonBody", "install_error_handlers", "sent_as_json"]


class NotJsonBody(Exception):
    """A body sent with another Content-Type, noticed by a route whose body accepts any value (415)."""


@dataclass(frozen=True)
class ErrorWording:
    """The sentences one API answers its generic errors with."""

    docs_hint: str  # ends the 404: "no endpoint GET /x: <docs_hint>"
    not_json: str  # the whole 415 message
    invalid_json: str  # replaces pydantic's "JSON decode error"
    empty_body: str | None = None  # for a required body that is absent; None: pydantic's "body: Field required"
    pattern_meanings: Mapping[str, str] = field(default_factory=dict)  # regex -> what a mismatch means, in words

    def describe(self, error: Mapping[str, Any]) -> str:
        """One pydantic error as "query parameter size: Input should be ..." (no input echo, no internals)."""
        where, *path = error["loc"]
        if error["type"] == "json_invalid":
            return self.invalid_json
        if error["type"] == "missing" and where == "body" and not path and self.empty_body is not None:
            return self.empty_body
        problem = self._problem(error)
        name = ".".join(str(part) for part in path)
        if where == "body":
            return f"body field {name}: {problem}" if name else f"body: {problem}"
        return f"{where} parameter {name}: {problem}"

    def _problem(self, error: Mapping[str, Any]) -> str:
        if error["type"] == "value_error":
            # The engine's own sentence (SimulationPlan's), without pydantic's "Value error, " prefix.
            return str(error["ctx"]["error"])
        if error["type"] == "string_pattern_mismatch":
            # A regex is no help to whoever typed the value.
            return self.pattern_meanings.get(error["ctx"]["pattern"], error["msg"])
        return error["msg"]


def sent_as_json(event: BaseProxyEvent) -> bool:
    """Whether the body is JSON to Powertools: no Content-Type, or application/json (its own test)."""
    content_type = event.headers.get("content-type", "").strip()
    return not content_type or content_type.startswith(JSON)


def install_error_handlers(
    app: APIGatewayRestResolver,
    wording: ErrorWording,
    logger: Logger,
    bad_request: Callable[[str], Response] | None = None,
) -> None:
    """Register the 400, 415, 404 and 500 answers on ``app``.

    ``bad_request(message)`` builds the 400 of an invalid request, for a route whose documented 400
    is not ``{"message": ...}``; by default every 400 is.
    """

    def not_json(_: Exception) -> Response:
        return json_error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, wording.not_json)

    def invalid_request(exc: RequestValidationError) -> Response:
        errors = exc.errors()
        # Powertools parsed the body as a form: the errors of that parse would only confuse.
        if not sent_as_json(app.current_event) and any(error["loc"][0] == "body" for error in errors):
            return not_json(exc)
        message = "; ".join(wording.describe(error) for error in errors)
        return bad_request(message) if bad_request else json_error(HTTPStatus.BAD_REQUEST, message)

    def no_route(_: Exception) -> Response:
        # Registered explicitly so the catch-all below never turns an unknown path into a 500.
        event = app.current_event
        return json_error(HTTPStatus.NOT_FOUND, f"no endpoint {event.http_method} {event.path}: {wording.docs_hint}")

    def unexpected(_: Exception) -> Response:
        logger.exception("unexpected error")
        message = f"internal error; quote request id {app.lambda_context.aws_request_id} when reporting it"
        return json_error(HTTPStatus.INTERNAL_SERVER_ERROR, message)

    app.exception_handler([NotJsonBody, RequestUnsupportedContentType])(not_json)
    app.exception_handler(RequestValidationError)(invalid_request)
    app.not_found(no_route)
    app.exception_handler(Exception)(unexpected)
