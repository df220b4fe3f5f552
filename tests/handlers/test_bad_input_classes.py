"""Each kind of bad input that once reached a 500 gets its 4xx problem and changes nothing:
bodies that are not JSON, JSON too deep or too large, NUL in parameters, free-form JSON
out of bounds, lax types, a path that belongs to another route, field errors named as the
API names them. Where a rule holds for every route, the test runs on every declared route."""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_platform.service import Route, Service
from tests.handlers.conftest import PASSWORD, Account
from tests.support import Reply, api_event, as_caller, call, row_counts, scalar

ROUTES: list[tuple[Service, Route]] = [(s, r) for s in SERVICES for r in s.routes]


def _module(service: Service, route: Route) -> Any:
    return importlib.import_module(service.handler_path(route).rsplit(".", 1)[0])


BODY_ROUTES = [(s, r) for s, r in ROUTES if _module(s, r).api.binder.body_model is not None]
PATH_ROUTES = [(s, r) for s, r in ROUTES if "{" in r.path]
QUERY_ROUTES = [
    (s, r)
    for s, r in ROUTES
    if any(p.location == "query" for p in _module(s, r).api.binder.parameters)
]


@pytest.fixture
def everything(admin_sql: Any) -> Callable[[], dict[str, int]]:
    """Row counts of every table of every service: equal before and after, nothing changed."""
    tables = [
        f"{schema}.{table}"
        for schema, table in admin_sql.run(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(:s)",
            s=[s.schema for s in SERVICES],
        )
    ]
    return lambda: row_counts(admin_sql, *tables)


def _is_problem(reply: Reply, status: int) -> bool:
    return (
        reply.status == status
        and reply.content_type == "application/problem+json"
        and reply.body["status"] == status
        and {"type", "title"} <= reply.body.keys()
    )


def _invoke(service: Service, route: Route, event: dict[str, Any]) -> Reply:
    result = _module(service, route).handler(event, None)
    body = json.loads(result["body"]) if result.get("body") else None
    return Reply(int(result["statusCode"]), result["headers"], body)


def _some_path(route: Route) -> dict[str, str]:
    return {name.strip("{}"): str(uuid.uuid4()) for name in route.path.split("/") if "{" in name}


# --- media types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
    ],
)
@pytest.mark.parametrize(("service", "route"), BODY_ROUTES, ids=[r.key for _, r in BODY_ROUTES])
def test_a_body_that_is_not_json_is_415_before_anyone_is_asked_for_rights(
    db_clean: None,
    everything: Callable[[], dict[str, int]],
    service: Service,
    route: Route,
    content_type: str,
) -> None:
    # Given a caller with no rights at all on the route (a student on an admin route)
    before = everything()
    event = api_event(
        route,
        path_params=_some_path(route),
        raw_body='{"title": "x"}',
        claims=as_caller(uuid.uuid4(), "STUDENT"),
        headers={"content-type": content_type},
    )
    # When the body comes as another media type
    reply = _invoke(service, route, event)
    # Then it is a 415, not a 403 or 404 of the use case, and nothing changed
    assert _is_problem(reply, 415), reply
    assert everything() == before


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "application/json; charset=UTF-8", "Application/Json"]
)
def test_json_media_types_are_compared_without_regard_to_case(
    db_clean: None, content_type: str
) -> None:
    body = {"email": "case@example.com", "password": PASSWORD, "displayName": "Case"}
    reply = call("POST", "/auth/register", body=body, headers={"content-type": content_type})
    assert reply.status == 201, reply.body


def test_a_json_body_without_a_content_type_is_read_as_json(db_clean: None) -> None:
    # Some clients send none; JSON is the only thing the API reads, so it is not guessed at
    route, module = _route("POST", "/auth/register")
    body = {"email": "bare@example.com", "password": PASSWORD, "displayName": "Bare"}
    event = api_event(route, body=body)
    del event["headers"]["content-type"]
    assert module.handler(event, None)["statusCode"] == 201


def _route(method: str, path: str) -> tuple[Route, Any]:
    for service, route in ROUTES:
        if route.method == method and route.path == path:
            return route, _module(service, route)
    raise KeyError(path)


# --- JSON the parser refuses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"email": ' + "[" * 1000 + "]" * 1000 + "}",
        '{"a":' * 1000 + "1" + "}" * 1000,
        '{"email": ' + "9" * 5000 + "}",
        '{"email": "\\ud800"}',
        '{"email": "\\udc00x"}',
    ],
    ids=["array-1000-deep", "object-1000-deep", "integer-5000-digits", "lone-high", "lone-low"],
)
def test_json_too_deep_too_long_or_with_lone_surrogates_is_400(
    db_clean: None, everything: Callable[[], dict[str, int]], raw: str
) -> None:
    before = everything()
    reply = call("POST", "/auth/register", raw_body=raw)
    assert _is_problem(reply, 400), reply
    assert reply.body["title"] == "Malformed JSON"
    assert everything() == before


# --- NUL in parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "route"), ROUTES, ids=[r.key for _, r in ROUTES])
def test_a_query_parameter_with_nul_is_400_on_every_route(
    admin: Account, everything: Callable[[], dict[str, int]], service: Service, route: Route
) -> None:
    before = everything()
    names = [p.alias for p in _module(service, route).api.binder.parameters]
    for name in [*names, "q", "anything"]:
        event = api_event(
            route, path_params=_some_path(route), query={name: "a\x00b"}, claims=admin.caller
        )
        reply = _invoke(service, route, event)
        assert _is_problem(reply, 400), (name, reply)
    assert everything() == before


def test_the_catalog_searched_for_nul_is_400(db_clean: None) -> None:
    reply = call("GET", "/courses", query={"q": "\x00"})
    assert _is_problem(reply, 400)
    assert "U+0000" in reply.body["detail"]


# --- free-form JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "kind"),
    [
        ("NaN", "json_number"),
        ("Infinity", "json_number"),
        ("-Infinity", "json_number"),
        ("1e400", "json_number"),
        ('{"k": ' * 40 + "1" + "}" * 40, "json_too_deep"),
        ("[" + ",".join(["1"] * 10_001) + "]", "json_too_large"),
    ],
    ids=["nan", "infinity", "minus-infinity", "1e400", "40-deep", "10001-values"],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_organization_settings_out_of_bounds_are_422_naming_settings(
    admin: Account,
    everything: Callable[[], dict[str, int]],
    admin_sql: Any,
    settings: str,
    kind: str,
    method: str,
) -> None:
    # Given an organization (for PATCH)
    made = call(
        "POST",
        "/organizations",
        caller=admin.caller,
        body={"name": "Acme", "slug": "acme", "settings": {"seats": 5}},
    )
    assert made.status == 201, made.body
    before = everything()
    raw = f'{{"name": "Beta", "slug": "beta", "settings": {{"x": {settings}}}}}'
    if method == "POST":
        reply = call("POST", "/organizations", caller=admin.caller, raw_body=raw)
    else:
        reply = call(
            "PATCH",
            "/organizations/{organizationId}",
            caller=admin.caller,
            path_params={"organizationId": made.body["id"]},
            raw_body=raw,
        )
    assert _is_problem(reply, 422), reply
    assert [(e["location"], e["type"]) for e in reply.body["errors"]] == [
        (["body", "settings"], kind)
    ]
    assert everything() == before
    assert scalar(admin_sql, "SELECT settings::text FROM lms_user.organizations") == '{"seats": 5}'


def test_settings_nested_beyond_what_the_parser_reads_are_refused_whole(
    admin: Account, everything: Callable[[], dict[str, int]]
) -> None:
    # 3000 levels: the JSON parser stops at its own limit, before any field is looked at
    before = everything()
    raw = '{"name": "A", "slug": "a-b", "settings": ' + '{"k":' * 3000 + "1" + "}" * 3001
    reply = call("POST", "/organizations", caller=admin.caller, raw_body=raw)
    assert _is_problem(reply, 400), reply
    assert "recursion limit" in reply.body["detail"]
    assert everything() == before


def test_settings_within_bounds_are_stored_as_sent(admin: Account) -> None:
    settings = {"seats": 50, "ratio": 0.5, "big": 10**300, "nested": {"a": [1, {"b": None}]}}
    reply = call(
        "POST",
        "/organizations",
        caller=admin.caller,
        body={"name": "Acme", "slug": "acme", "settings": settings},
    )
    assert reply.status == 201, reply.body
    assert reply.body["settings"] == settings


# --- strict types ---------------------------------------------------------------------------------


@pytest.fixture
def course(register: Callable[..., Account], admin: Account) -> dict[str, Any]:
    """A draft course with one module, made by an instructor."""
    teacher = register("teacher@example.com")
    call(
        "PUT",
        "/users/{userId}/roles/{role}",
        caller=admin.caller,
        path_params={"userId": str(teacher.id), "role": "INSTRUCTOR"},
    )
    caller = as_caller(teacher.id, "STUDENT", "INSTRUCTOR")
    made = call("POST", "/courses", caller=caller, body={"title": "Engines"})
    module = call(
        "POST",
        "/courses/{courseId}/modules",
        caller=caller,
        path_params={"courseId": made.body["id"]},
        body={"title": "Numbers"},
    )
    assert module.status == 201, module.body
    return {"caller": caller, "id": made.body["id"], "module": module.body["id"]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/courses/{courseId}/modules", {"title": "M", "position": False}, "position"),
        ("/courses/{courseId}/modules", {"title": "M", "position": "0"}, "position"),
        ("/courses/{courseId}/modules", {"title": "M", "position": 0.5}, "position"),
        (
            "/courses/{courseId}/modules/{moduleId}/lessons",
            {"title": "L", "type": "text", "durationMinutes": True},
            "durationMinutes",
        ),
        (
            "/courses/{courseId}/modules/{moduleId}/lessons",
            {"title": "L", "type": "text", "durationMinutes": "7"},
            "durationMinutes",
        ),
    ],
)
def test_numbers_in_bodies_are_json_numbers_not_booleans_or_text(
    course: dict[str, Any],
    everything: Callable[[], dict[str, int]],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = everything()
    reply = call(
        "POST",
        path,
        caller=course["caller"],
        path_params={"courseId": course["id"], "moduleId": course["module"]},
        body=body,
    )
    assert _is_problem(reply, 422), reply
    assert [e["location"] for e in reply.body["errors"]] == [["body", field]]
    assert everything() == before


def test_a_whole_number_written_with_a_fraction_is_an_integer(course: dict[str, Any]) -> None:
    # JSON has one kind of number, and JSON Schema calls 7.0 an integer
    reply = call(
        "POST",
        "/courses/{courseId}/modules/{moduleId}/lessons",
        caller=course["caller"],
        path_params={"courseId": course["id"], "moduleId": course["module"]},
        body={"title": "L", "type": "text", "durationMinutes": 7.0},
    )
    assert reply.status == 201, reply.body
    assert reply.body["durationMinutes"] == 7


def test_query_parameters_are_text_on_the_wire_and_still_convert(db_clean: None) -> None:
    assert call("GET", "/courses", query={"limit": "7"}).status == 200
    assert _is_problem(call("GET", "/courses", query={"limit": "seven"}), 422)


# --- a path that belongs to another route ---------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_the_literal_modules_order_path_is_405_where_api_gateway_routes_it_to_module_id(
    course: dict[str, Any], everything: Callable[[], dict[str, int]], method: str
) -> None:
    # Given the event API Gateway sends the {moduleId} route for .../modules/order (it has
    # no PATCH or DELETE on the literal path, so it picks the parameter route)
    before = everything()
    route, module = _route(method, "/courses/{courseId}/modules/{moduleId}")
    event = api_event(
        route,
        path_params={"courseId": course["id"], "moduleId": "order"},
        body={"title": "Renamed"} if method == "PATCH" else None,
        claims=course["caller"],
    )
    # When the function serves it
    result = module.handler(event, None)
    # Then it answers as the path's own route would: 405, PUT allowed; nothing changed
    assert result["statusCode"] == 405
    assert result["headers"]["Allow"] == "PUT"
    assert json.loads(result["body"])["status"] == 405
    assert everything() == before


# --- field errors name parameters as the API does -------------------------------------------------


def _invalid_value(schema: dict[str, Any]) -> str:
    if schema.get("format") == "uuid":
        return "not-a-uuid"
    if "enum" in schema:
        return "NOT_ONE_OF_THEM"
    if "maxLength" in schema:
        return "x" * (int(schema["maxLength"]) + 1)
    raise AssertionError(f"no invalid value known for {schema}")


@pytest.mark.parametrize(("service", "route"), PATH_ROUTES, ids=[r.key for _, r in PATH_ROUTES])
def test_field_errors_name_path_parameters_as_the_api_does(
    admin: Account, everything: Callable[[], dict[str, int]], service: Service, route: Route
) -> None:
    binder = _module(service, route).api.binder
    assert binder.params_model is not None
    schema = binder.params_model.model_json_schema(by_alias=True)["properties"]
    before = everything()
    for name in [p.alias for p in binder.parameters if p.location == "path"]:
        values = {**_some_path(route), name: _invalid_value(schema[name])}
        event = api_event(
            route,
            path_params=values,
            body={} if binder.body_model is not None else None,
            claims=admin.caller,
        )
        reply = _invoke(service, route, event)
        assert _is_problem(reply, 422), (name, reply)
        assert ["path", name] in [e["location"] for e in reply.body["errors"]], reply.body
    assert everything() == before


# --- the correlation id ---------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["a\x00b", "x" * 129, "a b", "é", ""])
def test_a_malformed_correlation_id_is_replaced_never_echoed(db_clean: None, given: str) -> None:
    reply = call("GET", "/courses", headers={"x-correlation-id": given})
    returned = reply.headers["X-Correlation-Id"]
    assert returned != given
    uuid.UUID(returned)


def test_a_well_formed_correlation_id_travels_on(db_clean: None) -> None:
    reply = call("GET", "/courses", headers={"x-correlation-id": "req-42.a:b_c"})
    assert reply.headers["X-Correlation-Id"] == "req-42.a:b_c"
