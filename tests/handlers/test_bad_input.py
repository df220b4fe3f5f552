"""Bad input gets the right 4xx as a problem document, changes nothing, and never a 500."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.handlers.conftest import PASSWORD, Account
from tests.support import Reply, as_caller, call

PROBLEM_FIELDS = {"type", "title", "status"}
STUDENT = as_caller(uuid.uuid4(), "STUDENT")


def _is_problem(reply: Reply, status: int) -> bool:
    return (
        reply.status == status
        and reply.content_type == "application/problem+json"
        and set(reply.body) >= PROBLEM_FIELDS
        and reply.body["status"] == status
    )


# Every route with a JSON body, and a caller allowed to use it.
BODY_ROUTES = [
    ("POST", "/auth/register", None),
    ("POST", "/auth/login", None),
    ("PATCH", "/me/profile", "self"),
    ("POST", "/organizations", "admin"),
]


@pytest.fixture
def callers(register: Callable[..., Account], admin: Account) -> dict[str | None, Any]:
    ada = register("ada@example.com")
    return {None: None, "self": ada.caller, "admin": admin.caller}


@pytest.mark.parametrize(
    "raw", ['{"email": "a@example.com",', "not json", "{'single': 'quotes'}", '{"a":1}}']
)
@pytest.mark.parametrize(("method", "path", "who"), BODY_ROUTES)
def test_malformed_json_is_400_and_changes_nothing(
    callers: dict[str | None, Any],
    snapshot: Callable[[], dict[str, int]],
    method: str,
    path: str,
    who: str | None,
    raw: str,
) -> None:
    before = snapshot()
    reply = call(method, path, caller=callers[who], raw_body=raw)
    assert _is_problem(reply, 400), reply
    assert reply.body["title"] == "Malformed JSON"
    assert snapshot() == before


def test_missing_fields_are_422_naming_each_field(
    db_clean: None, snapshot: Callable[[], dict[str, int]]
) -> None:
    before = snapshot()
    reply = call("POST", "/auth/register", body={"email": "a@example.com"})
    assert _is_problem(reply, 422)
    missing = {e["location"][-1] for e in reply.body["errors"] if e["type"] == "missing"}
    assert missing == {"password", "displayName"}
    assert snapshot() == before


def test_unknown_fields_are_422(db_clean: None, snapshot: Callable[[], dict[str, int]]) -> None:
    # Given a body that tries to choose its own roles
    before = snapshot()
    reply = call(
        "POST",
        "/auth/register",
        body={
            "email": "a@example.com",
            "password": PASSWORD,
            "displayName": "A",
            "roles": ["ADMIN"],
        },
    )
    assert _is_problem(reply, 422)
    assert [e["location"][-1] for e in reply.body["errors"]] == ["roles"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("password", "short"),
        ("password", "x" * 129),
        ("displayName", ""),
        ("displayName", "x" * 101),
        ("email", 42),
        ("displayName", None),
    ],
)
def test_invalid_values_are_422_naming_the_field(
    db_clean: None, snapshot: Callable[[], dict[str, int]], field: str, value: Any
) -> None:
    before = snapshot()
    body = {"email": "a@example.com", "password": PASSWORD, "displayName": "A", field: value}
    reply = call("POST", "/auth/register", body=body)
    assert _is_problem(reply, 422)
    assert {e["location"][-1] for e in reply.body["errors"]} == {field}
    assert snapshot() == before


def test_a_body_over_the_limit_is_413_and_changes_nothing(
    db_clean: None, snapshot: Callable[[], dict[str, int]]
) -> None:
    # Given a register body one byte over LMS_MAX_BODY_BYTES (64 KiB by default)
    before = snapshot()
    body = {"email": "a@example.com", "password": PASSWORD, "displayName": "A", "pad": ""}
    body["pad"] = "x" * (64 * 1024 + 1 - len(json.dumps(body)))
    raw = json.dumps(body)
    assert len(raw.encode()) == 64 * 1024 + 1
    # When it is sent
    reply = call("POST", "/auth/register", raw_body=raw)
    # Then it is refused by size before anything else looks at it
    assert _is_problem(reply, 413)
    assert snapshot() == before


def test_a_body_at_the_limit_is_not_refused_for_its_size(db_clean: None) -> None:
    body = {"email": "a@example.com", "password": PASSWORD, "displayName": "A", "pad": ""}
    body["pad"] = "x" * (64 * 1024 - len(json.dumps(body)))
    reply = call("POST", "/auth/register", raw_body=json.dumps(body))
    assert reply.status == 422  # judged on its content (the unknown field), not its size


def test_the_size_limit_counts_bytes_not_characters(
    db_clean: None, snapshot: Callable[[], dict[str, int]]
) -> None:
    # Given a body under the limit in characters but over it in UTF-8 bytes
    before = snapshot()
    raw = json.dumps({"displayName": "é" * 40_000}, ensure_ascii=False)
    assert len(raw) < 64 * 1024 < len(raw.encode())
    assert _is_problem(call("POST", "/auth/register", raw_body=raw), 413)
    assert snapshot() == before


def test_the_size_limit_follows_the_setting(
    db_clean: None, override_env: Callable[[str, str], None]
) -> None:
    override_env("LMS_MAX_BODY_BYTES", "100")
    body = {"email": "a@example.com", "password": PASSWORD, "displayName": "x" * 60}
    assert call("POST", "/auth/register", body=body).status == 413


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "0b6e3f2c-6f6e-4a4f-9d3b"])
@pytest.mark.parametrize(
    ("method", "path", "param"),
    [
        ("GET", "/users/{userId}", "userId"),
        ("PATCH", "/users/{userId}", "userId"),
        ("GET", "/organizations/{organizationId}", "organizationId"),
    ],
)
def test_a_path_id_that_is_not_a_uuid_is_422(
    admin: Account,
    snapshot: Callable[[], dict[str, int]],
    method: str,
    path: str,
    param: str,
    bad: str,
) -> None:
    before = snapshot()
    body = {"status": "SUSPENDED"} if method == "PATCH" else None
    reply = call(method, path, caller=admin.caller, path_params={param: bad}, body=body)
    assert _is_problem(reply, 422)
    assert reply.body["errors"][0]["location"][0] == "path"
    assert snapshot() == before


def test_another_users_resource_is_403_and_changes_nothing(
    register: Callable[..., Account], snapshot: Callable[[], dict[str, int]]
) -> None:
    # Given two students
    ada = register("ada@example.com")
    bob = register("bob@example.com")
    before = snapshot()
    # When Ada reads or suspends Bob, or gives herself a role
    reads = call("GET", "/users/{userId}", caller=ada.caller, path_params={"userId": str(bob.id)})
    suspends = call(
        "PATCH",
        "/users/{userId}",
        caller=ada.caller,
        path_params={"userId": str(bob.id)},
        body={"status": "SUSPENDED"},
    )
    promotes = call(
        "PUT",
        "/users/{userId}/roles/{role}",
        caller=ada.caller,
        path_params={"userId": str(ada.id), "role": "ADMIN"},
    )
    # Then each is refused and nothing changed
    assert _is_problem(reads, 403)
    assert _is_problem(suspends, 403)
    assert _is_problem(promotes, 403)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "who", "body", "field"),
    [
        (
            "POST",
            "/auth/register",
            None,
            {"email": "a@example.com", "password": PASSWORD, "displayName": "A\u0000"},
            "displayName",
        ),
        ("POST", "/auth/login", None, {"email": "a\u0000@example.com", "password": "x"}, "email"),
        ("PATCH", "/me/profile", "self", {"bio": "\u0000"}, "bio"),
        (
            "POST",
            "/organizations",
            "admin",
            {"name": "A", "slug": "a-b", "settings": {"k": "\u0000"}},
            "settings",
        ),
        (
            "POST",
            "/organizations",
            "admin",
            {"name": "A", "slug": "a-b", "settings": {"\u0000": 1}},
            "settings",
        ),
    ],
)
def test_a_nul_character_in_text_is_422_naming_the_field(
    callers: dict[str | None, Any],
    snapshot: Callable[[], dict[str, int]],
    method: str,
    path: str,
    who: str | None,
    body: dict[str, Any],
    field: str,
) -> None:
    # Given valid JSON whose text holds U+0000, which PostgreSQL cannot store
    before = snapshot()
    reply = call(method, path, caller=callers[who], body=body)
    # Then it is refused as bad input, not met as a database error
    assert _is_problem(reply, 422), reply
    assert [e["location"][-1] for e in reply.body["errors"]] == [field]
    assert snapshot() == before


def _call_encoded(raw: bytes) -> Reply:
    """POST /auth/register with a body API Gateway base64-encoded (it does so for bytes
    that are not UTF-8 text)."""
    from tests.support import api_event, route_for

    route, module = route_for("POST", "/auth/register")
    event = api_event(route, raw_body=base64.b64encode(raw).decode())
    event["isBase64Encoded"] = True
    result = module.handler(event, None)
    return Reply(int(result["statusCode"]), result["headers"], json.loads(result["body"]))


def test_a_body_that_is_not_utf8_is_400_and_changes_nothing(
    db_clean: None, snapshot: Callable[[], dict[str, int]]
) -> None:
    before = snapshot()
    body = json.dumps({"email": "a@example.com", "password": PASSWORD, "displayName": "A"})
    reply = _call_encoded(b"\xff\xfe" + body.encode())
    assert _is_problem(reply, 400)
    assert snapshot() == before


def test_a_base64_encoded_utf8_body_is_read_normally(db_clean: None) -> None:
    body = json.dumps({"email": "a@example.com", "password": PASSWORD, "displayName": "Zoë"})
    reply = _call_encoded(body.encode())
    assert reply.status == 201
    assert reply.body["profile"]["displayName"] == "Zoë"


def test_a_text_body_with_a_lone_surrogate_is_400(
    db_clean: None, snapshot: Callable[[], dict[str, int]]
) -> None:
    before = snapshot()
    assert _is_problem(call("POST", "/auth/register", raw_body="\ud800"), 400)
    assert snapshot() == before


def test_an_unknown_route_is_a_404_problem(db_clean: None) -> None:
    from tests.support import api_event, route_for

    route, module = route_for("GET", "/me")
    event = api_event(route, claims=STUDENT)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/me/nowhere"
    result = module.handler(event, None)
    assert result["statusCode"] == 404
    assert json.loads(result["body"])["status"] == 404


# --- no 500 ---------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
REGISTER_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "email": JSON_VALUES | st.emails().map(str),
        "password": JSON_VALUES | st.text(min_size=12, max_size=20),
        "displayName": JSON_VALUES,
    },
)
RAW_BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    REGISTER_LIKE.map(json.dumps),
    st.text(max_size=80),
    st.sampled_from(["", " ", "null", "[]", "{}", '{"email": null}', "\ud800", "\x00", "1e999"]),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=RAW_BODIES)
@example(raw="\ud800")
@example(raw="\x00")
@example(raw="1e999")
@example(raw='{"email": {"$ne": null}, "password": [], "displayName": {}}')
@example(
    raw='{"email": "a@example.com", "password": "correct horse battery", "displayName": "\\u0000"}'
)
def test_garbage_bodies_to_register_get_a_4xx_never_a_500(
    db_clean: None, raw: str, admin_sql: Any
) -> None:
    reply = call("POST", "/auth/register", raw_body=raw)
    # A well-formed body may legitimately register someone; anything else is a 4xx problem
    if reply.status == 201:
        return
    assert 400 <= reply.status < 500, (raw, reply)
    assert reply.content_type == "application/problem+json"
    assert "Traceback" not in json.dumps(reply.body)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=RAW_BODIES, route=st.sampled_from(BODY_ROUTES[1:]))
def test_garbage_bodies_to_other_routes_get_a_4xx_never_a_500(
    db_clean: None, raw: str, route: tuple[str, str, str | None]
) -> None:
    method, path, who = route
    caller = None if who is None else as_caller(uuid.uuid4(), "ADMIN")
    reply = call(method, path, caller=caller, raw_body=raw)
    assert reply.status < 500, (raw, reply)
