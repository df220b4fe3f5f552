"""Header parameters (``http.Header``) and a route's own body limit, bound from real API
Gateway v2 events by an endpoint of a route declared for the test."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest

from lms_platform.http import ApiModel, Endpoint, Header, Query
from lms_platform.openapi import _as_powertools
from lms_platform.service import Route
from tests.support import api_event

ROUTE = Route("POST", "/things/{thingId}", "make_thing", service="test", public=True)


class Thing(ApiModel):
    name: str


class Made(ApiModel):
    thing_id: str
    name: str
    idempotency_key: str | None
    x_trace_level: int
    limit: int


def make_thing(
    thing_id: str,
    body: Thing,
    idempotency_key: Annotated[str | None, Header(max_length=8)] = None,
    x_trace_level: Annotated[int, Header(ge=0, le=3)] = 0,
    limit: Annotated[int, Query(ge=1)] = 5,
) -> Made:
    return Made(
        thing_id=thing_id,
        name=body.name,
        idempotency_key=idempotency_key,
        x_trace_level=x_trace_level,
        limit=limit,
    )


def _call(route: Route, headers: dict[str, str], body: Any = None, **kwargs: Any) -> Any:
    endpoint = Endpoint(route)
    endpoint.handle(make_thing)
    event = api_event(
        route,
        path_params={"thingId": "t1"},
        body={"name": "cup"} if body is None else body,
        headers=headers,
        **kwargs,
    )
    result = endpoint.handler(event, None)
    return result["statusCode"], json.loads(result["body"]) if result["body"] else None


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])
def test_a_header_is_bound_by_its_hyphenated_name_in_any_letter_case(name: str) -> None:
    status, body = _call(ROUTE, {name: "abc", "X-Trace-Level": "2"})
    assert status == 200, body
    assert body == {
        "thingId": "t1",
        "name": "cup",
        "idempotencyKey": "abc",
        "xTraceLevel": 2,
        "limit": 5,
    }


def test_an_absent_header_takes_its_default() -> None:
    status, body = _call(ROUTE, {})
    assert status == 200, body
    assert (body["idempotencyKey"], body["xTraceLevel"]) == (None, 0)


def test_a_header_breaking_its_constraints_is_a_422_naming_the_header() -> None:
    status, body = _call(ROUTE, {"Idempotency-Key": "far-too-long", "x-trace-level": "9"})
    assert status == 422
    locations = sorted(e["location"] for e in body["errors"])
    assert locations == [["header", "idempotency-key"], ["header", "x-trace-level"]]


def test_a_query_parameter_of_the_same_name_is_not_taken_for_the_header() -> None:
    status, body = _call(ROUTE, {}, query={"idempotency-key": "abc", "idempotencyKey": "abc"})
    assert status == 200
    assert body["idempotencyKey"] is None


def test_the_openapi_signature_describes_the_header_as_a_header() -> None:
    import inspect
    import typing

    from aws_lambda_powertools.event_handler.openapi import params

    registered = _as_powertools(ROUTE, make_thing)
    hints = typing.get_type_hints(registered, include_extras=True)
    marker = typing.get_args(hints["idempotency_key"])[1]
    assert isinstance(marker, params.Header)
    assert marker.alias == "idempotency-key"
    assert "idempotency_key" in inspect.signature(registered).parameters


def test_a_route_may_take_a_larger_body_than_the_default_and_no_larger(
    env: pytest.MonkeyPatch,
) -> None:
    big = {"name": "x" * (70 * 1024)}
    assert _call(ROUTE, {}, body=big)[0] == 413  # the settings' 64 KiB
    roomy = Route(**{**ROUTE.__dict__, "max_body_bytes": 128 * 1024})
    assert _call(roomy, {}, body=big)[0] == 200
    assert _call(roomy, {}, body={"name": "x" * (130 * 1024)})[0] == 413
