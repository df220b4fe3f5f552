"""Handlers may take a request header (``Header``) and the exact body text (``RawBody``)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from lms_platform.http import Endpoint, Header, RawBody
from lms_platform.service import Route


def _endpoint(function: Any) -> Endpoint:
    endpoint = Endpoint(Route("POST", "/things/{thingId}", "thing", service="test"))
    endpoint.handle(function)
    return endpoint


def _event(headers: dict[str, str], body: str | None = None, encoded: bool = False) -> Any:
    return {
        "rawPath": "/things/7",
        "pathParameters": {"thingId": "7"},
        "headers": headers,
        "body": base64.b64encode(body.encode()).decode() if encoded and body else body,
        "isBase64Encoded": encoded,
        "requestContext": {"http": {"method": "POST"}},
    }


def _echo(
    thing_id: int,
    key: Annotated[str, Header("Idempotency-Key", max_length=8)],
    trace: Annotated[str | None, Header("X-Trace")] = None,
) -> dict[str, Any]:
    return {"thing": thing_id, "key": key, "trace": trace}


def test_a_header_is_bound_by_its_name_in_any_letter_case() -> None:
    endpoint = _endpoint(_echo)
    for name in ("idempotency-key", "Idempotency-Key", "IDEMPOTENCY-KEY"):
        result = endpoint.handler(_event({name: "abc"}), None)
        assert result["statusCode"] == 200
        assert json.loads(result["body"]) == {"thing": 7, "key": "abc", "trace": None}


def test_a_missing_or_invalid_header_is_a_422_naming_it() -> None:
    endpoint = _endpoint(_echo)
    missing = endpoint.handler(_event({}), None)
    too_long = endpoint.handler(_event({"idempotency-key": "123456789"}), None)
    for result in (missing, too_long):
        assert result["statusCode"] == 422
        errors = json.loads(result["body"])["errors"]
        assert [e["location"] for e in errors] == [["header", "Idempotency-Key"]]


def test_the_raw_body_is_the_exact_text_sent() -> None:
    def raw(thing_id: int, payload: Annotated[str, RawBody()]) -> dict[str, Any]:
        return {"payload": payload}

    endpoint = _endpoint(raw)
    text = '{"b": 1,  "a": "\\u00e9"}'
    plain = endpoint.handler(_event({}, text), None)
    encoded = endpoint.handler(_event({}, text, encoded=True), None)
    empty = endpoint.handler(_event({}, None), None)

    assert json.loads(plain["body"]) == {"payload": text}
    assert json.loads(encoded["body"]) == {"payload": text}
    assert json.loads(empty["body"]) == {"payload": ""}


def test_a_raw_body_that_is_not_utf8_is_a_400_not_an_error() -> None:
    def raw(thing_id: int, payload: Annotated[str, RawBody()]) -> dict[str, Any]:
        return {"payload": payload}

    endpoint = _endpoint(raw)
    # API Gateway base64-encodes bytes that are not UTF-8 text
    event = {**_event({}), "body": base64.b64encode(b"\x9b\xff{}").decode()}
    event["isBase64Encoded"] = True
    result = endpoint.handler(event, None)

    assert result["statusCode"] == 400
    assert json.loads(result["body"])["title"] == "Malformed body"
    # Any content type is still taken as the raw text it is
    typed = endpoint.handler(_event({"content-type": "text/plain"}, "hello"), None)
    assert json.loads(typed["body"]) == {"payload": "hello"}
