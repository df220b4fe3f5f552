"""POST /auth/register and POST /auth/login through real API Gateway v2 events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.handlers.conftest import PASSWORD, Account
from tests.support import EventLog, call, claims_of, scalar


def _register(email: str, display_name: str = "Ada Lovelace", **kwargs: Any) -> Any:
    body = {"email": email, "password": PASSWORD, "displayName": display_name}
    return call("POST", "/auth/register", body=body, **kwargs)


def _login(email: str, password: str = PASSWORD) -> Any:
    return call("POST", "/auth/login", body={"email": email, "password": password})


# --- register -----------------------------------------------------------------------------


def test_register_creates_a_student_with_a_profile(db_clean: None, admin_sql: Any) -> None:
    # When someone registers
    reply = _register("Ada@Example.com")
    # Then the answer is 201 with the new account, camelCase, email lower-cased
    assert reply.status == 201
    body = reply.body
    assert set(body) == {"id", "email", "status", "roles", "profile", "createdAt", "updatedAt"}
    assert body["email"] == "ada@example.com"
    assert body["status"] == "ACTIVE"
    assert body["roles"] == ["STUDENT"]
    assert body["profile"] == {"displayName": "Ada Lovelace", "avatarUrl": None, "bio": None}
    user_id = uuid.UUID(body["id"])
    # And the rows are there: the user, its profile and its STUDENT role
    assert scalar(admin_sql, "SELECT email FROM lms_user.users WHERE id = :i", i=user_id) == (
        "ada@example.com"
    )
    assert scalar(
        admin_sql, "SELECT display_name FROM lms_user.profiles WHERE user_id = :i", i=user_id
    ) == ("Ada Lovelace")
    assert admin_sql.run(
        "SELECT r.name FROM lms_user.user_roles ur JOIN lms_user.roles r ON r.id = ur.role_id"
        " WHERE ur.user_id = :i",
        i=user_id,
    ) == [["STUDENT"]]
    # And the password is kept only as an argon2id hash
    stored = scalar(admin_sql, "SELECT password_hash FROM lms_user.users WHERE id = :i", i=user_id)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_register_publishes_user_registered(db_clean: None, event_log: EventLog) -> None:
    # When someone registers, with a correlation id on the request
    reply = _register("grace@example.com", "Grace", headers={"x-correlation-id": "corr-42"})
    user_id = reply.body["id"]
    # Then UserRegistered is on the bus, in its envelope
    (event,) = event_log.drain(expect=1)
    assert event["source"] == "lms.user"
    assert event["detail-type"] == "UserRegistered"
    detail = event["detail"]
    assert uuid.UUID(detail["eventId"])
    assert detail["eventType"] == "UserRegistered"
    assert detail["eventVersion"] == 1
    assert detail["occurredAt"].endswith("Z") or "+00:00" in detail["occurredAt"]
    assert detail["aggregateId"] == user_id
    assert detail["correlationId"] == "corr-42"
    assert detail["data"] == {
        "userId": user_id,
        "email": "grace@example.com",
        "displayName": "Grace",
        "roles": ["STUDENT"],
        "version": 1,
    }


def test_register_with_a_taken_email_in_another_case_is_409_and_changes_nothing(
    register: Callable[..., Account],
    snapshot: Callable[[], dict[str, int]],
    event_log: EventLog,
) -> None:
    # Given an account for ada@example.com
    register("ada@example.com")
    event_log.drain(expect=1)
    before = snapshot()
    # When the same email registers again in other letters' case
    reply = _register("ADA@Example.COM", "Impostor")
    # Then it is a conflict, as a problem document
    assert reply.status == 409
    assert reply.content_type == "application/problem+json"
    assert reply.body["status"] == 409
    assert reply.body["title"] == "Email already registered"
    # And no row and no event was added
    assert snapshot() == before
    assert [e["detail-type"] for e in event_log.drain(wait_seconds=0.5)] == ["UserRegistered"]


# --- login --------------------------------------------------------------------------------


def test_login_returns_a_verifiable_bearer_token(register: Callable[..., Account]) -> None:
    # Given a registered student
    account = register("ada@example.com")
    # When they log in
    before = int(time.time())
    reply = _login("ada@example.com")
    # Then they get a bearer token valid five minutes and a refresh token valid 30 days
    assert reply.status == 200
    assert set(reply.body) == {
        "accessToken",
        "tokenType",
        "expiresIn",
        "refreshToken",
        "refreshExpiresIn",
    }
    assert reply.body["tokenType"] == "Bearer"
    assert reply.body["expiresIn"] == 300
    assert reply.body["refreshExpiresIn"] == 30 * 24 * 3600
    assert len(reply.body["refreshToken"]) >= 43  # 256 random bits, URL-safe
    # And the token verifies as the gateway verifies it, naming the user and their roles
    claims = claims_of(reply.body["accessToken"])
    assert claims["sub"] == str(account.id)
    assert claims["roles"] == "STUDENT"
    assert claims["iss"] == "http://127.0.0.1:3000"
    assert claims["aud"] == "lms-api"
    assert before + 300 <= claims["exp"] <= int(time.time()) + 300


def test_login_ignores_the_letter_case_of_the_email(register: Callable[..., Account]) -> None:
    register("ada@example.com")
    assert _login("  ADA@example.com ").status == 200


def test_a_wrong_password_and_an_unknown_email_get_the_same_401(
    register: Callable[..., Account],
) -> None:
    # Given a registered account
    register("ada@example.com")
    # When one tries its email with a wrong password, and an email nobody has
    wrong_password = _login("ada@example.com", "not the password at all")
    unknown_email = _login("nobody@example.com")
    # Then both are the same 401 problem: the answer does not tell which accounts exist
    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.body == unknown_email.body
    assert wrong_password.content_type == unknown_email.content_type == "application/problem+json"
    assert "accessToken" not in wrong_password.body


def test_a_suspended_user_cannot_log_in(register: Callable[..., Account], admin: Account) -> None:
    # Given a student suspended by an administrator
    student = register("ada@example.com")
    suspended = call(
        "PATCH",
        "/users/{userId}",
        caller=admin.caller,
        path_params={"userId": str(student.id)},
        body={"status": "SUSPENDED"},
    )
    assert suspended.status == 200
    # When they log in with the right password
    reply = _login("ada@example.com")
    # Then no token is issued
    assert reply.status == 403
    assert reply.body["title"] == "Account suspended"
    assert "accessToken" not in reply.body


def test_a_new_role_shows_in_the_next_token(
    register: Callable[..., Account], admin: Account
) -> None:
    # Given a student who is then made an instructor
    student = register("ada@example.com")
    call(
        "PUT",
        "/users/{userId}/roles/{role}",
        caller=admin.caller,
        path_params={"userId": str(student.id), "role": "INSTRUCTOR"},
    )
    # When they log in again, Then the token carries both roles
    claims = claims_of(_login("ada@example.com").body["accessToken"])
    assert claims["roles"] == "INSTRUCTOR STUDENT"
