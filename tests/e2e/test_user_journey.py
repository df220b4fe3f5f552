"""The product as a user runs it: ``lms run`` in a process of its own, spoken to over HTTP.

A student registers, logs in and reads ``/me``; ``lms create-admin`` makes an
administrator; the administrator makes the student an instructor, which the student's
next token shows; the bus carried UserRegistered and RoleAssigned with the right data.
Bad input and bad tokens are refused the documented way, and Ctrl-C stops everything.
"""

from __future__ import annotations

import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.harness import (
    GIVEN_DATABASE_URL,
    PASSWORD,
    BusTap,
    Reply,
    Runtime,
    claims,
    http,
    login,
    session,
)

pytestmark = pytest.mark.e2e


def test_a_student_becomes_an_instructor_and_the_bus_hears_of_it(
    runtime: Runtime, bus_tap: BusTap
) -> None:
    student_email = f"student-{uuid.uuid4().hex[:8]}@example.com"
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"

    # Given a student who registered and logged in
    registered = http(
        runtime,
        "POST",
        "/auth/register",
        body={"email": student_email, "password": PASSWORD, "displayName": "Stu Dent"},
    )
    assert registered.status == 201, registered.body
    student_id = registered.body["id"]
    assert registered.body["roles"] == ["STUDENT"]
    student_token = login(runtime, student_email)
    me = http(runtime, "GET", "/me", token=student_token)
    assert me.status == 200, me.body
    assert me.body["id"] == student_id and me.body["roles"] == ["STUDENT"]
    assert me.body["profile"]["displayName"] == "Stu Dent"

    # And an administrator made from the command line, while the runtime runs
    made = runtime.lms(
        "create-admin",
        "--email",
        admin_email,
        "--display-name",
        "Ad Min",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    admin_token = login(runtime, admin_email)
    admin_id = claims(admin_token)["sub"]
    assert "ADMIN" in claims(admin_token)["roles"].split()

    # When the administrator makes the student an instructor
    assigned = http(runtime, "PUT", f"/users/{student_id}/roles/INSTRUCTOR", token=admin_token)
    assert assigned.status == 200, assigned.body
    assert "INSTRUCTOR" in assigned.body["roles"]

    # Then the student's next token and /me show the new role
    new_token = login(runtime, student_email)
    assert set(claims(new_token)["roles"].split()) == {"STUDENT", "INSTRUCTOR"}
    again = http(runtime, "GET", "/me", token=new_token)
    assert set(again.body["roles"]) == {"STUDENT", "INSTRUCTOR"}

    # And the bus carried the registrations and the role, with their data
    student_registered = bus_tap.wait_for(
        lambda e: (
            e["detail-type"] == "UserRegistered" and e["detail"]["data"]["userId"] == student_id
        )
    )
    assert student_registered["source"] == "lms.user"
    assert student_registered["detail"]["data"]["email"] == student_email
    assert student_registered["detail"]["data"]["roles"] == ["STUDENT"]
    assert student_registered["detail"]["aggregateId"] == student_id
    admin_registered = bus_tap.wait_for(
        lambda e: e["detail-type"] == "UserRegistered" and e["detail"]["data"]["userId"] == admin_id
    )
    assert admin_registered["detail"]["data"]["roles"] == ["ADMIN"]
    role = bus_tap.wait_for(
        lambda e: e["detail-type"] == "RoleAssigned" and e["detail"]["data"]["userId"] == student_id
    )
    assert role["detail"]["data"]["role"] == "INSTRUCTOR"
    assert role["detail"]["data"]["assignedBy"] == admin_id
    assert role["detail"]["eventType"] == "RoleAssigned"
    uuid.UUID(role["detail"]["eventId"])


def _problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.headers
    assert reply.body["status"] == status
    body: dict[str, Any] = reply.body
    return body


def test_bad_input_is_refused_with_problem_documents(runtime: Runtime) -> None:
    _problem(http(runtime, "POST", "/auth/register", raw=b'{"email": '), 400)
    missing = _problem(
        http(runtime, "POST", "/auth/register", body={"email": "x@example.com"}), 422
    )
    assert missing["errors"], missing
    large = {"email": "a@example.com", "password": "x" * 100_000, "displayName": "A"}
    _problem(http(runtime, "POST", "/auth/register", body=large), 413)
    _problem(http(runtime, "GET", "/no/such/route"), 404)
    _problem(http(runtime, "DELETE", "/me"), 405)


def _forged_tokens(rt: Runtime, user_id: str) -> dict[str, str]:
    import jwt

    from lms_platform.auth import SigningKey, generate_private_key_pem

    key = SigningKey.from_pem((rt.state / "signing-key.pem").read_text())
    other = SigningKey.from_pem(generate_private_key_pem())
    now = int(time.time())
    good = {
        "iss": rt.url,
        "aud": "lms-api",
        "sub": user_id,
        "iat": now,
        "exp": now + 300,
        "roles": "ADMIN",
    }

    def sign(claims: dict[str, Any], signer: Any = key.private_key, alg: str = "RS256") -> str:
        return str(jwt.encode(claims, signer, algorithm=alg, headers={"kid": key.kid}))

    return {
        "valid": sign(good),
        "expired": sign({**good, "iat": now - 900, "exp": now - 600}),
        "wrong signature": sign(good, other.private_key),
        "alg none": sign(good, None, "none"),
        "wrong audience": sign({**good, "aud": "someone-else"}),
        "wrong issuer": sign({**good, "iss": "https://issuer.example"}),
    }


def test_bad_tokens_are_401_and_a_student_is_403_on_admin_routes(runtime: Runtime) -> None:
    email = f"s-{uuid.uuid4().hex[:8]}@example.com"
    registered = http(
        runtime,
        "POST",
        "/auth/register",
        body={"email": email, "password": PASSWORD, "displayName": "S"},
    )
    assert registered.status == 201
    tokens = _forged_tokens(runtime, registered.body["id"])
    # The control: a token signed with the runtime's key, right claims, is accepted
    assert http(runtime, "GET", "/me", token=tokens.pop("valid")).status == 200
    for case, token in tokens.items():
        reply = http(runtime, "GET", "/me", token=token)
        assert reply.status == 401, case
        assert reply.body == {"message": "Unauthorized"}, case
        assert reply.headers["www-authenticate"].startswith("Bearer"), case
    assert http(runtime, "GET", "/me").status == 401
    # A real student token on an administrator's route
    student = login(runtime, email)
    _problem(http(runtime, "GET", "/users", token=student), 403)


def test_a_session_refreshes_and_ends_and_guessing_is_locked_out(runtime: Runtime) -> None:
    email = f"session-{uuid.uuid4().hex[:8]}@example.com"
    registered = http(
        runtime,
        "POST",
        "/auth/register",
        body={"email": email, "password": PASSWORD, "displayName": "Se Ssion"},
    )
    assert registered.status == 201, registered.body
    # A login gives a 5-minute access token and a refresh token, not to be stored
    first = session(runtime, email)
    assert first["expiresIn"] == 300
    # Refreshing rotates the refresh token; the new access token works
    refreshed = http(runtime, "POST", "/auth/refresh", body={"refreshToken": first["refreshToken"]})
    assert refreshed.status == 200, refreshed.body
    assert refreshed.body["refreshToken"] != first["refreshToken"]
    assert http(runtime, "GET", "/me", token=refreshed.body["accessToken"]).status == 200
    # The spent token, presented again, is refused and ends the session
    replay = http(runtime, "POST", "/auth/refresh", body={"refreshToken": first["refreshToken"]})
    _problem(replay, 401)
    ended = http(
        runtime, "POST", "/auth/refresh", body={"refreshToken": refreshed.body["refreshToken"]}
    )
    _problem(ended, 401)
    # Logging out ends another session
    second = session(runtime, email)
    out = http(runtime, "POST", "/auth/logout", body={"refreshToken": second["refreshToken"]})
    assert out.status == 204
    after = http(runtime, "POST", "/auth/refresh", body={"refreshToken": second["refreshToken"]})
    _problem(after, 401)
    # Five wrong passwords lock the account: 429 with Retry-After, through the gateway
    wrong = {"email": email, "password": "not the password at all"}
    statuses = [http(runtime, "POST", "/auth/login", body=wrong).status for _ in range(5)]
    assert statuses == [401] * 5
    # (the first lock lasts a second, the next two, ...: of ten guesses sent at once, most
    # arrive while the account is locked, however slow this machine is)
    with ThreadPoolExecutor(max_workers=10) as pool:
        burst = list(
            pool.map(lambda _: http(runtime, "POST", "/auth/login", body=wrong), range(10))
        )
    locked = [r for r in burst if r.status == 429]
    assert locked and {r.status for r in burst} <= {401, 429}, [r.status for r in burst]
    for reply in locked:
        _problem(reply, 429)
        assert int(reply.headers["retry-after"]) >= 1


def test_the_openapi_document_is_served(runtime: Runtime) -> None:
    reply = http(runtime, "GET", "/openapi.json")
    assert reply.status == 200
    assert "/users/{userId}/roles/{role}" in reply.body["paths"]
    assert reply.body["servers"] == [{"url": runtime.url}]


def test_ctrl_c_stops_everything_cleanly(runtime: Runtime) -> None:
    # Given the running runtime (every other test of this module ran before this one)
    assert runtime.process.poll() is None
    # When it gets SIGINT
    runtime.process.send_signal(signal.SIGINT)
    code = runtime.process.wait(timeout=30)
    # Then it exits 0, says so, forgets its record and leaves no PostgreSQL running
    assert code == 0, runtime.output()
    assert "stopped" in runtime.output()
    assert "Traceback" not in runtime.output(), runtime.output()
    assert not (runtime.state / "runtime.json").exists()
    if not GIVEN_DATABASE_URL:
        assert not (runtime.state / "pg" / "postmaster.pid").exists()
