"""JSON responses of the API functions, and their declarations in the OpenAPI documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel

__all__ = ["JSON", "json_content", "json_error", "json_response"]

JSON = content_types.APPLICATION_JSON


def json_content(model: type[BaseModel], description: str) -> dict[str, Any]:
    """A route's ``responses`` entry: ``description`` with a JSON body shaped like ``model``."""
    return {"description": description, "content": {JSON: {"model": model}}}


def json_response(status: int, body: BaseModel, headers: Mapping[str, str] | None = None) -> Response:
    """``body`` on the wire (camelCase aliases), for answers built outside a route, such as errors."""
    return Response(status, JSON, body.model_dump(mode="json", by_alias=True), headers=headers)


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The ``{"message": ...}`` body every error of the APIs has."""
    return Response(status, JSON, {"message": message}, headers=headers)
