"""No input gets a 5xx, on any declared route.

Hypothesis throws bodies (JSON of the route's own shape with arbitrary values, any JSON,
any text, any bytes), content types, query strings, headers and path values at every route
the services declare -- through the route's real Lambda handler with an API Gateway v2
event, and through the local gateway with raw requests -- as an anonymous caller, a
student, an instructor and an administrator, against a real PostgreSQL holding a course.
Every answer is below 500, and every 4xx is a problem document whose status is the
answer's own. The routes are read from the declarations, so a new route is covered as soon
as it is declared.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from functions.registry import SERVICES
from lms_platform.http import PROBLEM_JSON
from lms_platform.service import Route, Service
from tests.handlers.conftest import Account
from tests.support import api_event, as_caller, call

ROUTES: list[tuple[Service, Route]] = [(s, r) for s in SERVICES for r in s.routes]
PARAMETER = re.compile(r"\{(\w+)\}")
EXAMPLES = int(os.environ.get("LMS_FUZZ_EXAMPLES", "500"))

# Any code point, NUL and lone surrogates included.
TEXT = st.text(st.characters(codec=None, categories=None, exclude_categories=[]), max_size=40)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "APPLICATION/JSON",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/merge-patch+json",
            "text/plain",
            "application/xml",
            "application/octet-stream",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
    st.text(max_size=30),
)
SPECIAL_TEXT = st.sampled_from(
    ["", " ", "order", "null", "0", "-1", "1e400", "NaN", "\x00", "%00", "..", "x" * 300]
)


@dataclass(frozen=True)
class World:
    """What the routes can find: accounts of each kind and a published course."""

    callers: dict[str, dict[str, Any] | None]
    ids: list[str]


@pytest.fixture
def world(register: Callable[..., Account], admin: Account, simulator: Any) -> World:
    # (The simulator: a deployment has its payment gateway's keys.)
    student = register("student@example.com")
    teacher = register("teacher@example.com")
    promoted = call(
        "PUT",
        "/users/{userId}/roles/{role}",
        caller=admin.caller,
        path_params={"userId": str(teacher.id), "role": "INSTRUCTOR"},
    )
    assert promoted.status == 200, promoted.body
    instructor = as_caller(teacher.id, "STUDENT", "INSTRUCTOR")
    course = call("POST", "/courses", caller=instructor, body={"title": "Engines"})
    assert course.status == 201, course.body
    course_id = course.body["id"]
    module = call(
        "POST",
        "/courses/{courseId}/modules",
        caller=instructor,
        path_params={"courseId": course_id},
        body={"title": "Numbers"},
    )
    assert module.status == 201, module.body
    lesson = call(
        "POST",
        "/courses/{courseId}/modules/{moduleId}/lessons",
        caller=instructor,
        path_params={"courseId": course_id, "moduleId": module.body["id"]},
        body={"title": "Digits", "type": "video", "durationMinutes": 5},
    )
    assert lesson.status == 201, lesson.body
    published = call(
        "POST",
        "/courses/{courseId}/publish",
        caller=instructor,
        path_params={"courseId": course_id},
    )
    assert published.status == 200, published.body
    return World(
        callers={
            "anonymous": None,
            "student": student.caller,
            "instructor": instructor,
            "admin": admin.caller,
        },
        ids=[
            str(student.id),
            str(teacher.id),
            str(admin.id),
            course_id,
            course.body["slug"],
            module.body["id"],
            lesson.body["id"],
        ],
    )


# --- what is sent ------------------------------------------------------------------------------


def _body_model(route: Route) -> Any:
    service = next(s for s in SERVICES if s.name == route.service)
    module = importlib.import_module(service.handler_path(route).rsplit(".", 1)[0])
    return module.api.binder.body_model


def _from_schema(schema: dict[str, Any], defs: dict[str, Any], ids: list[str]) -> Any:
    """Values of a pydantic JSON schema: mostly of its shape, sometimes anything."""
    if "$ref" in schema:
        return _from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, ids)
    if "anyOf" in schema:
        return st.one_of([_from_schema(s, defs, ids) for s in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema:
        shaped = st.sampled_from(schema["enum"])
    elif kind == "string" and schema.get("format") == "uuid":
        shaped = st.sampled_from(ids) | st.uuids().map(str)
    elif kind == "string" and "pattern" in schema:
        shaped = st.from_regex(schema["pattern"], fullmatch=True)
    elif kind == "string":
        shaped = st.text(
            min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 50), 50)
        )
    elif kind == "integer":
        shaped = st.integers(schema.get("minimum"), schema.get("maximum"))
    elif kind == "array":
        shaped = st.lists(_from_schema(schema.get("items", {}), defs, ids), max_size=4)
    elif kind == "object" and "properties" in schema:
        properties = {
            name: _from_schema(inner, defs, ids) for name, inner in schema["properties"].items()
        }
        shaped = st.fixed_dictionaries(
            {k: v for k, v in properties.items() if k in schema.get("required", [])},
            optional={k: v for k, v in properties.items() if k not in schema.get("required", [])},
        )
    else:
        shaped = JSON_VALUES
    return st.one_of(*[shaped] * 5, JSON_VALUES)


def _bodies(route: Route, ids: list[str]) -> st.SearchStrategy[tuple[str | None, bool]]:
    """``(body, isBase64Encoded)`` as API Gateway passes it on."""
    model = _body_model(route)
    anything = st.one_of(
        st.none(),
        JSON_VALUES.map(json.dumps),
        TEXT,
        st.sampled_from(
            ['{"a":' * 1000 + "1" + "}" * 1000, "[" * 3000 + "]" * 3000, "9" * 5000, "NaN"]
        ),
    ).map(lambda text: (text, False))
    encoded = st.binary(max_size=60).map(lambda raw: (base64.b64encode(raw).decode(), True))
    if model is None:
        return st.one_of(anything, encoded)
    schema = model.model_json_schema(by_alias=True)
    shaped = _from_schema(schema, schema.get("$defs", {}), ids).map(
        lambda value: (json.dumps(value), False)
    )
    return st.one_of(*[shaped] * 4, anything, encoded)


def _path_values(ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        *[st.sampled_from(ids)] * 3,
        st.sampled_from(["STUDENT", "INSTRUCTOR", "ADMIN", "order"]),
        st.uuids().map(str),
        TEXT,
        SPECIAL_TEXT,
    )


QUERIES = st.dictionaries(
    st.sampled_from(["limit", "offset", "cursor", "q", "status"]) | TEXT,
    st.one_of(TEXT, SPECIAL_TEXT, st.integers().map(str)),
    max_size=3,
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "x-correlation-id": st.one_of(TEXT, st.text(min_size=100, max_size=300), SPECIAL_TEXT),
        "idempotency-key": TEXT,
        "accept": st.sampled_from(["*/*", "application/xml", "text/html"]),
    },
)


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="", errors="surrogatepass")


@st.composite
def requests(draw: st.DrawFn, world: World) -> tuple[Service, Route, dict[str, Any]]:
    service, route = draw(st.sampled_from(ROUTES))
    caller = world.callers[draw(st.sampled_from(sorted(world.callers)))]
    values = {name: draw(_path_values(world.ids)) for name in PARAMETER.findall(route.path)}
    body, encoded = draw(_bodies(route, world.ids))
    headers = draw(HEADERS)
    content_type = draw(st.one_of(*[st.just("application/json")] * 2, CONTENT_TYPES))
    event = api_event(
        route,
        path_params={k: _quote(v) for k, v in values.items()},
        query=draw(QUERIES),
        raw_body=body,
        claims=caller,
        headers=headers,
    )
    # API Gateway hands the function decoded parameters and a percent-encoded raw path.
    event["pathParameters"] = values or None
    event["isBase64Encoded"] = encoded
    if content_type is None:
        del event["headers"]["content-type"]
    else:
        event["headers"]["content-type"] = content_type
    return service, route, event


# --- what must come back ----------------------------------------------------------------------


def assert_no_server_error(
    status: int, headers: dict[str, str], body: bytes | str, *, head: bool = False
) -> None:
    text = body if isinstance(body, str) else body.decode()
    assert status < 500, (status, text[:2000])
    lowered = {k.lower(): v for k, v in headers.items()}
    if status >= 400:
        if lowered.get("content-type") == "application/json":
            # API Gateway's own answers: the authorizer's 401, a request it cannot read (400)
            # or will not read (413), as {"message": ...}
            assert status in (400, 401, 413), (status, text)
            assert head or list(json.loads(text)) == ["message"], text
            assert head or status != 401 or json.loads(text) == {"message": "Unauthorized"}
            return
        assert lowered.get("content-type") == PROBLEM_JSON, (status, lowered)
        if head:
            return  # no body for HEAD
        problem = json.loads(text)
        assert {"type", "title", "status"} <= problem.keys(), problem
        assert problem["status"] == status, problem
        assert "Traceback" not in text
        if status == 422:
            assert problem["errors"], problem
            for error in problem["errors"]:
                assert all(isinstance(part, str) for part in error["location"]), error
    elif text and lowered.get("content-type", "").endswith("json"):
        json.loads(text)


def event_of(route: Route | None, status: int) -> None:
    """What the examples reached, in Hypothesis' statistics (--hypothesis-show-statistics)."""
    event(f"status {status}")
    if route is not None and status < 400:
        event(f"{route.key} succeeded")


# --- through the handlers ---------------------------------------------------------------------


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_request_to_any_handler_is_answered_below_500(
    world: World, data: st.DataObject
) -> None:
    service, route, event = data.draw(requests(world))
    module = importlib.import_module(service.handler_path(route).rsplit(".", 1)[0])
    result = module.handler(event, None)
    event_of(route, int(result["statusCode"]))
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    assert_no_server_error(int(result["statusCode"]), result.get("headers") or {}, body)
    # And the correlation id the answer carries is always a valid one
    returned = result["headers"]["X-Correlation-Id"]
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", returned), returned


# --- through the local gateway ------------------------------------------------------------------


@pytest.fixture
def local_gateway(world: World) -> Iterator[Any]:
    from functions.registry import SERVICES as ALL
    from lms_local.gateway import Gateway, JwtAuthorizer
    from lms_local.lambdas import WorkerPool
    from lms_platform import auth
    from lms_platform.settings import get_settings

    settings = get_settings()
    pool = WorkerPool(2)
    authorizer = JwtAuthorizer(
        lambda: auth.jwks()["keys"], issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    yield Gateway(ALL, pool, authorizer, openapi=lambda: {"openapi": "3.1.0"}, timeout=20)
    pool.shutdown()


def _token(claims: dict[str, Any] | None) -> str | None:
    from lms_platform import auth

    if claims is None:
        return None
    issued = auth.issue_token(uuid.UUID(claims["sub"]), claims["roles"].split(), claims["email"])
    return issued.access_token


METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"])


@st.composite
def raw_requests(draw: st.DrawFn, world: World) -> Any:
    from lms_local.gateway import Request

    _, route = draw(st.sampled_from(ROUTES))
    values = {name: draw(_path_values(world.ids)) for name in PARAMETER.findall(route.path)}
    path = route.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", _quote(value))
    path = draw(st.one_of(*[st.just(path)] * 6, st.just(path + "/"), TEXT.map(lambda t: "/" + t)))
    query = draw(
        st.one_of(
            QUERIES.map(lambda q: urllib.parse.urlencode(q, errors="surrogatepass")),
            st.text(alphabet=st.characters(codec="ascii", exclude_characters="#"), max_size=40),
        )
    )
    headers = [("Host", "127.0.0.1:3000")]
    token = _token(world.callers[draw(st.sampled_from(sorted(world.callers)))])
    authorization = draw(
        st.one_of(
            st.just(f"Bearer {token}" if token else None),
            st.sampled_from([None, "Bearer", "Bearer x.y.z", "Basic abc"]),
        )
    )
    if authorization is not None:
        headers.append(("Authorization", authorization))
    content_type = draw(st.one_of(*[st.just("application/json")] * 2, CONTENT_TYPES))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    for name, value in draw(HEADERS).items():
        headers.append((name, value))
    body, encoded = draw(_bodies(route, world.ids))
    raw = (
        b""
        if body is None
        else (base64.b64decode(body) if encoded else body.encode("utf-8", "surrogatepass"))
    )
    method = draw(st.one_of(*[st.just(route.method)] * 4, METHODS))
    return Request(method, path, query, headers, raw, "127.0.0.1")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_request_through_the_local_gateway_is_answered_below_500(
    world: World, local_gateway: Any, data: st.DataObject
) -> None:
    request = data.draw(raw_requests(world))
    reply = local_gateway.handle(request, "fuzz")
    event_of(None, reply.status)
    assert_no_server_error(
        reply.status, dict(reply.headers), reply.body
    )  # HEAD: the server drops the body
    if reply.status == 405:
        assert dict(reply.headers)["Allow"], reply.headers


# --- over HTTP, as bytes ------------------------------------------------------------------------


@pytest.fixture
def local_server(local_gateway: Any) -> Iterator[tuple[str, int]]:
    from lms_local.gateway import GatewayServer

    server = GatewayServer("127.0.0.1", 0)
    server.start(local_gateway)
    yield "127.0.0.1", server.port
    server.stop()


TOKEN_CHARS = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"), min_size=1, max_size=10)
HEADER_LINES = st.lists(
    st.tuples(
        st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=1, max_size=12),
        st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=40),
    ),
    max_size=4,
)


@st.composite
def raw_http(draw: st.DrawFn) -> bytes:
    """One HTTP/1.1 request as bytes: any method token, path, headers and body framing."""
    _, route = draw(st.sampled_from(ROUTES))
    method = draw(st.one_of(st.just(route.method), METHODS, TOKEN_CHARS))
    path = draw(st.one_of(st.just(route.path), TEXT.map(lambda t: "/" + _quote(t))))
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in draw(HEADER_LINES)]
    body = draw(st.binary(max_size=40))
    framing = draw(st.sampled_from(["length", "chunked", "bad-chunk", "none"]))
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    elif framing == "bad-chunk":
        lines.append("Transfer-Encoding: chunked")
        size = draw(st.sampled_from([b"-5", b"+5", b"0x5", b"zz", b"ffffffffffffffffff"]))
        payload = size + b"\r\n" + body + b"\r\n0\r\n\r\n"
    else:
        lines.append("Content-Length: 0")
        payload = b""
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + payload


def _exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    import socket

    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    # The first answer only: bytes past the body a request declared are a request of
    # their own, which the server answers next on the same connection.
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, rest[: int(headers["Content-Length"])]


@settings(
    max_examples=max(EXAMPLES // 5, 20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=raw_http())
def test_any_bytes_sent_to_the_local_gateway_are_answered_below_500(
    local_server: tuple[str, int], request: bytes
) -> None:
    status, headers, body = _exchange(local_server, request)
    event_of(None, status)
    assert_no_server_error(status, headers, body, head=request.startswith(b"HEAD "))
