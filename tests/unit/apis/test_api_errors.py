"""riskengine.apis: the error answers both API functions share, on a small resolver of their own."""

# No ``from __future__ import annotations``: Powertools reads the routes' annotations at run time.
import json
from typing import Annotated, Any, Self

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskengine.apis import ErrorWording, NotJsonBody, install_error_handlers, sent_as_json
from riskengine_tools.local.bridge import LocalContext

NAME = r"^[A-Z]+$"
WORDING = ErrorWording(
    docs_hint="see /docs/things",
    not_json="send JSON",
    invalid_json="the body is not valid JSON",
    empty_body="the body is empty",
    pattern_meanings={NAME: "must be capitals"},
)
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=X"
MULTIPART_BODY = '--X\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--X--'


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    low: int = 0
    high: int = 1

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class _Logged:
    """Stands in for the function's Powertools logger."""

    def __init__(self) -> None:
        self.exceptions: list[str] = []

    def exception(self, message: str) -> None:
        self.exceptions.append(message)


def _app(bad_request: Any = None, logger: Any = None) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    install_error_handlers(app, WORDING, logger or _Logged(), bad_request=bad_request)

    @app.post("/things")
    def post_thing(thing: Annotated[Thing, Body()]) -> dict[str, str]:
        return {"name": thing.name}

    @app.get("/things")
    def get_things(name: Annotated[str, Query(pattern=NAME)], size: Annotated[int, Query(ge=1)] = 1) -> list[str]:
        return [name] * size

    @app.post("/raw")
    def post_raw() -> None:
        raise NotJsonBody

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    return app


def _call(
    app: APIGatewayRestResolver,
    method: str,
    path: str,
    *,
    body: str | None = None,
    content_type: str | None = "application/json",
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "requestContext": {"requestId": "unit", "stage": "test", "httpMethod": method, "path": path},
        "body": body,
        "isBase64Encoded": False,
    }
    result = app.resolve(event, LocalContext(aws_request_id="req-7"))
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ({"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error"}, "the body is not valid JSON"),
        ({"type": "missing", "loc": ("body",), "msg": "Field required"}, "the body is empty"),
        ({"type": "missing", "loc": ("body", "name"), "msg": "Field required"}, "body field name: Field required"),
        (
            {"type": "value_error", "loc": ("body",), "msg": "Value error, no", "ctx": {"error": ValueError("no")}},
            "body: no",
        ),
        (
            {"type": "string_pattern_mismatch", "loc": ("query", "name"), "msg": "regex", "ctx": {"pattern": NAME}},
            "query parameter name: must be capitals",
        ),
        (
            {"type": "string_pattern_mismatch", "loc": ("path", "id"), "msg": "regex", "ctx": {"pattern": "^x$"}},
            "path parameter id: regex",
        ),
        ({"type": "int_type", "loc": ("body", "items", 0), "msg": "Not int"}, "body field items.0: Not int"),
    ],
)
def test_each_pydantic_error_is_one_sentence_naming_where(error: dict[str, Any], words: str) -> None:
    assert WORDING.describe(error) == words


def test_without_its_own_words_a_missing_body_keeps_pydantics() -> None:
    plain = ErrorWording(docs_hint="", not_json="", invalid_json="")
    assert plain.describe({"type": "missing", "loc": ("body",), "msg": "Field required"}) == "body: Field required"


@pytest.mark.parametrize(
    ("request_args", "message"),
    [
        ({"body": '{"name": "abc", "extra": 1}'}, "body field name: must be capitals; body field extra: Extra inputs"),
        ({"body": '{"name": "ABC", "low": 2}'}, "body: low must not exceed high"),
        ({"body": "{nope"}, "the body is not valid JSON"),
        ({"body": None}, "the body is empty"),
        ({"content_type": None, "body": '{"low": "x"}'}, "body field name: Field required; body field low: Input"),
    ],
)
def test_an_invalid_body_is_a_400_message(request_args: dict[str, Any], message: str) -> None:
    status, body = _call(_app(), "POST", "/things", **request_args)
    assert status == 400 and body["message"].startswith(message)


def test_invalid_parameters_are_a_400_even_with_a_form_content_type() -> None:
    status, body = _call(_app(), "GET", "/things", query={"name": "ab", "size": "0"}, content_type=FORM)
    assert status == 400
    assert body == {
        "message": "query parameter name: must be capitals; query parameter size: Input should be greater than or "
        "equal to 1"
    }


def test_the_400_of_an_invalid_request_can_take_the_apis_shape() -> None:
    def shaped(message: str) -> Response:
        return Response(400, "application/json", {"message": message, "errors": []})

    assert _call(_app(shaped), "POST", "/things", body="{nope") == (
        400,
        {"message": "the body is not valid JSON", "errors": []},
    )


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/things", FORM, '{"name": "ABC"}'),  # curl -d without -H: JSON labelled as a form
        ("/things", MULTIPART, MULTIPART_BODY),
        ("/things", "text/plain", '{"name": "ABC"}'),  # Powertools refuses to parse it
        ("/raw", FORM, "a=1"),  # a route that accepts any body noticed it
    ],
    ids=["form", "multipart", "text", "raised by the route"],
)
@pytest.mark.filterwarnings("ignore:Received multipart/form-data:UserWarning")
def test_a_body_not_sent_as_json_is_a_415(path: str, content_type: str, body: str) -> None:
    assert _call(_app(), "POST", path, body=body, content_type=content_type) == (415, {"message": "send JSON"})


def test_an_unknown_path_is_a_404_pointing_at_the_docs() -> None:
    assert _call(_app(), "DELETE", "/things/1") == (404, {"message": "no endpoint DELETE /things/1: see /docs/things"})


def test_an_unexpected_failure_is_logged_and_a_500_quoting_the_request_id() -> None:
    logged = _Logged()
    status, body = _call(_app(logger=logged), "GET", "/boom")
    assert (status, body) == (500, {"message": "internal error; quote request id req-7 when reporting it"})
    assert logged.exceptions == ["unexpected error"]


@pytest.mark.parametrize(
    ("headers", "is_json"),
    [
        (None, True),
        ({"Content-Type": "application/json"}, True),
        ({"content-type": " application/json; charset=utf-8"}, True),
        ({"Content-Type": FORM}, False),
        ({"Content-Type": "text/plain"}, False),
    ],
)
def test_a_body_is_json_without_a_content_type_or_with_application_json(
    headers: dict[str, str] | None, is_json: bool
) -> None:
    assert sent_as_json(APIGatewayProxyEvent({"headers": headers})) is is_json
