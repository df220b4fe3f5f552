"""A request on AWS: the service's secret (no LMS_DATABASE_URL) gives the database login,
TLS to the proxy, and the key that signs cursors (no LMS_CURSOR_KEY)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.user import store as user_store
from lms_platform import auth
from lms_platform.http import decode_base64url
from tests.aws.conftest import LambdaEnv, Stack, deploy
from tests.course.builders import build_course
from tests.support import call, claims_of

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def _connection_facts(stack: Stack) -> dict[str, Any]:
    """Who the user service's kept connection is logged in as, where, and its TLS session
    (``port``: the proxy's side of it, one per connection)."""
    row = user_store.db().read_one(
        "SELECT current_user AS role, current_database() AS db, inet_client_port() AS port"
    )
    assert row is not None
    return {
        "role": row["role"],
        "database": row["db"],
        "port": row["port"],
        "tls": stack.aurora.proxy.sessions.get(row["port"]),
    }


def test_register_login_and_me_run_over_tls_as_the_service_role(
    deployed: Stack, lambda_env: LambdaEnv
) -> None:
    # Given the User functions' environment on AWS: their secret, the proxy, the CA bundle
    lambda_env.set(**deployed.function_env("user"))
    # When someone registers, logs in and asks who they are
    registered = call(
        "POST",
        "/auth/register",
        body={"email": "ada@example.com", "password": PASSWORD, "displayName": "Ada"},
    )
    login = call("POST", "/auth/login", body={"email": "ada@example.com", "password": PASSWORD})
    assert (registered.status, login.status) == (201, 200), (registered.body, login.body)
    claims = claims_of(login.body["accessToken"])
    me = call("GET", "/me", caller=claims)
    # Then each answered, about the same account
    assert me.status == 200
    assert me.body["id"] == registered.body["id"] == claims["sub"]
    assert me.body["email"] == "ada@example.com"
    # And the token is signed by the key the deployment put in the signing-key secret
    header = json.loads(decode_base64url(login.body["accessToken"].split(".")[0]))
    pem = deployed.secret_value(deployed.signing_key_arn)
    assert header["kid"] == auth.SigningKey.from_pem(pem).kid
    # And the connection is the service's own role, in the secret's database, over TLS
    facts = _connection_facts(deployed)
    assert facts["role"] == "lms_user"
    assert facts["database"] == deployed.database
    assert facts["tls"] is not None


def test_without_lms_db_host_the_function_connects_where_its_secret_says(
    deployed: Stack, lambda_env: LambdaEnv
) -> None:
    # Given the user secret names the proxy's host itself, and no LMS_DB_HOST is set
    arn = deployed.service_arns["user"]
    secret = json.loads(deployed.secret_value(arn))
    deployed.secretsmanager.put_secret_value(
        SecretId=arn, SecretString=json.dumps({**secret, "host": "localhost"})
    )
    env = deployed.function_env("user")
    del env["LMS_DB_HOST"]
    lambda_env.set(**env)
    # When the service reads from its database
    facts = _connection_facts(deployed)
    # Then it reached it there, TLS verified for that name
    assert facts["role"] == "lms_user"
    assert facts["tls"] is not None and facts["tls"].server_name == "localhost"


def _catalog(cursor: str | None = None) -> Any:
    query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
    return call("GET", "/courses", query=query)


@pytest.fixture
def three_published_courses(deployed: Stack, lambda_env: LambdaEnv) -> list[str]:
    """Three published courses, made through the Course routes as the Course role."""
    lambda_env.set(**deployed.function_env("course"))
    return [build_course(lessons_per_module=(1,), title=f"Course {n}").id for n in range(3)]


def test_a_catalog_cursor_made_in_one_execution_environment_works_in_another(
    deployed: Stack, lambda_env: LambdaEnv, three_published_courses: list[str]
) -> None:
    # Given the first page of the catalog, with its cursor, from one execution environment
    first = _catalog()
    assert first.status == 200, first.body
    assert len(first.body["items"]) == 2
    cursor = first.body["nextCursor"]
    assert cursor
    # When another execution environment (same secret, no LMS_CURSOR_KEY) follows it
    lambda_env.cold_start()
    second = _catalog(cursor)
    # Then it gets the rest: every course exactly once over the two pages
    assert second.status == 200, second.body
    assert second.body["nextCursor"] is None
    seen = [c["id"] for c in first.body["items"] + second.body["items"]]
    assert sorted(seen) == sorted(three_published_courses)


def test_a_cursor_signed_under_another_password_is_refused(
    deployed: Stack, lambda_env: LambdaEnv, three_published_courses: list[str]
) -> None:
    # Given a cursor from the catalog, then the Course secret's password changed (and the
    # deployment set it on the role)
    cursor = _catalog().body["nextCursor"]
    assert cursor
    deployed.change_password("course")
    deploy(deployed, lambda_env)
    lambda_env.set(**deployed.function_env("course"))
    # When the old cursor is followed
    reply = _catalog(cursor)
    # Then it is refused as altered, while a first page still works under the new key
    assert reply.status == 400, reply.body
    assert "cursor" in reply.body["detail"]
    fresh = _catalog()
    assert fresh.status == 200
    assert _catalog(fresh.body["nextCursor"]).status == 200


def test_after_the_proxy_drops_idle_connections_the_next_requests_reconnect(
    deployed: Stack, lambda_env: LambdaEnv
) -> None:
    # Given a warm User function whose kept connection the proxy then cut (its idle client
    # timeout)
    lambda_env.set(**deployed.function_env("user"))
    before = _connection_facts(deployed)
    assert deployed.aurora.proxy.drop_connections() >= 1
    # When the next requests come: a read, then a write in a unit of work
    after_read = _connection_facts(deployed)
    deployed.aurora.proxy.drop_connections()
    registered = call(
        "POST",
        "/auth/register",
        body={"email": "grace@example.com", "password": PASSWORD, "displayName": "Grace"},
    )
    # Then both succeed on a new TLS connection, the caller never seeing the cut
    assert after_read["tls"] is not None
    assert after_read["port"] != before["port"]
    assert registered.status == 201, registered.body
