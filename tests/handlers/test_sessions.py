"""Sessions: refresh tokens that rotate, reuse that ends the session, logout, and the
revocations that end a user's sessions at once (suspension, a role taken, a new password)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from typing import Any

from functions.registry import service
from tests.handlers.conftest import PASSWORD, Account
from tests.support import Reply, call, claims_of, scalar

NEW_PASSWORD = "a different long password"


def _login(email: str, password: str = PASSWORD) -> Reply:
    return call("POST", "/auth/login", body={"email": email, "password": password})


def _tokens(email: str, password: str = PASSWORD) -> dict[str, Any]:
    reply = _login(email, password)
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def _refresh(token: str) -> Reply:
    return call("POST", "/auth/refresh", body={"refreshToken": token})


def _logout(token: str) -> Reply:
    return call("POST", "/auth/logout", body={"refreshToken": token})


def _caller_of(tokens: dict[str, Any]) -> dict[str, Any]:
    """The claims the gateway would hand over for this access token (verified)."""
    return claims_of(tokens["accessToken"])


def _live_sessions(admin_sql: Any, user_id: uuid.UUID) -> int:
    return int(
        scalar(
            admin_sql,
            "SELECT count(*) FROM lms_user.sessions WHERE user_id = :u AND revoked_at IS NULL",
            u=user_id,
        )
    )


def _set_status(admin: Account, user_id: uuid.UUID, status: str) -> Reply:
    return call(
        "PATCH",
        "/users/{userId}",
        caller=admin.caller,
        path_params={"userId": str(user_id)},
        body={"status": status},
    )


def _role(method: str, admin: Account, user_id: uuid.UUID, role: str) -> Reply:
    return call(
        method,
        "/users/{userId}/roles/{role}",
        caller=admin.caller,
        path_params={"userId": str(user_id), "role": role},
    )


# --- refresh ----------------------------------------------------------------------------------


def test_refresh_rotates_the_token_and_the_refresh_token_is_stored_only_hashed(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    # Given a logged-in student
    ada = register("ada@example.com")
    first = _tokens("ada@example.com")
    # When the client refreshes
    reply = _refresh(first["refreshToken"])
    # Then it gets a new access token for the same user and a new refresh token
    assert reply.status == 200, reply.body
    second = reply.body
    assert second["refreshToken"] != first["refreshToken"]
    assert second["expiresIn"] == 300
    assert _caller_of(second)["sub"] == str(ada.id)
    # And the database holds only SHA-256 digests of the tokens, both in one session
    stored = admin_sql.run(
        "SELECT t.token_hash, t.spent_at IS NOT NULL FROM lms_user.refresh_tokens t"
        " JOIN lms_user.sessions s ON s.id = t.session_id WHERE s.user_id = :u"
        " ORDER BY t.issued_at",
        u=ada.id,
    )
    digests = {bytes(h) for h, _ in stored}
    assert digests == {
        hashlib.sha256(first["refreshToken"].encode()).digest(),
        hashlib.sha256(second["refreshToken"].encode()).digest(),
    }
    assert sorted(spent for _, spent in stored) == [False, True]
    assert _live_sessions(admin_sql, ada.id) == 1
    # And the new refresh token refreshes in turn
    assert _refresh(second["refreshToken"]).status == 200


def test_a_spent_refresh_token_presented_again_ends_the_whole_session(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    # Given a session whose first refresh token has been exchanged
    ada = register("ada@example.com")
    first = _tokens("ada@example.com")
    second = _refresh(first["refreshToken"]).body
    # When the spent token is presented again (a thief, or a replay)
    replay = _refresh(first["refreshToken"])
    # Then it is refused, and the session is ended: the newer token is refused too
    assert replay.status == 401
    assert replay.body["title"] == "Invalid refresh token"
    assert _refresh(second["refreshToken"]).status == 401
    assert (
        scalar(
            admin_sql,
            "SELECT revoked_reason FROM lms_user.sessions WHERE user_id = :u",
            u=ada.id,
        )
        == "REUSE"
    )
    # And another session of the same user is untouched
    other = _tokens("ada@example.com")
    assert _refresh(other["refreshToken"]).status == 200


def test_two_refreshes_of_one_token_at_once_exactly_one_wins(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    # Given a session's refresh token and eight clients presenting it at the same moment
    ada = register("ada@example.com")
    token = _tokens("ada@example.com")["refreshToken"]
    racers = 8
    barrier = threading.Barrier(racers)
    replies: list[Reply] = []
    lock = threading.Lock()

    def worker() -> None:
        from functions.user import store

        store.db().read("SELECT 1")  # each thread's connection opened before the race
        barrier.wait()
        try:
            reply = _refresh(token)
        finally:
            store.db().discard_connection()  # this thread's own: closed with it
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=worker) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # Then exactly one got new tokens; every other one was refused as a reuse
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] + [401] * (racers - 1), [r.body for r in replies]
    # And one token was issued from the spent one, no more
    assert (
        scalar(
            admin_sql,
            "SELECT count(*) FROM lms_user.refresh_tokens t JOIN lms_user.sessions s"
            " ON s.id = t.session_id WHERE s.user_id = :u",
            u=ada.id,
        )
        == 2
    )
    # And because a racing duplicate cannot be told from a replay, the session ended: the
    # winner's refresh token is refused too (clients refresh one at a time)
    (winner,) = [r for r in replies if r.status == 200]
    assert _refresh(winner.body["refreshToken"]).status == 401
    assert _live_sessions(admin_sql, ada.id) == 0


def test_an_expired_refresh_token_is_refused(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    register("ada@example.com")
    token = _tokens("ada@example.com")["refreshToken"]
    admin_sql.run(
        "UPDATE lms_user.refresh_tokens SET expires_at = now() - interval '1 second'"
        " WHERE token_hash = :h",
        h=hashlib.sha256(token.encode()).digest(),
    )
    reply = _refresh(token)
    assert reply.status == 401
    assert reply.content_type == "application/problem+json"


def test_an_unknown_or_malformed_refresh_token_is_refused_without_a_change(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    register("ada@example.com")
    _tokens("ada@example.com")
    before = admin_sql.run("SELECT count(*) FROM lms_user.refresh_tokens")
    assert _refresh("not-a-token-we-issued").status == 401
    assert call("POST", "/auth/refresh", body={}).status == 422
    assert call("POST", "/auth/refresh", body={"refreshToken": "x" * 500}).status == 422
    assert admin_sql.run("SELECT count(*) FROM lms_user.refresh_tokens") == before


def test_a_refresh_shows_a_role_given_since_the_login(
    register: Callable[..., Account], admin: Account
) -> None:
    # Given a student's session, and then the INSTRUCTOR role given to her
    ada = register("ada@example.com")
    tokens = _tokens("ada@example.com")
    assert _role("PUT", admin, ada.id, "INSTRUCTOR").status == 200
    # When her client refreshes, Then the new access token carries the role: no new login
    refreshed = _refresh(tokens["refreshToken"]).body
    assert _caller_of(refreshed)["roles"] == "INSTRUCTOR STUDENT"


# --- logout -----------------------------------------------------------------------------------


def test_logout_ends_the_session_and_answers_the_same_for_any_token(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    # Given two sessions of one user
    ada = register("ada@example.com")
    phone = _tokens("ada@example.com")
    laptop = _tokens("ada@example.com")
    # When the phone logs out
    reply = _logout(phone["refreshToken"])
    # Then 204, the phone's refresh token is dead and the laptop's lives
    assert (reply.status, reply.body) == (204, None)
    assert _refresh(phone["refreshToken"]).status == 401
    assert _refresh(laptop["refreshToken"]).status == 200
    assert (
        scalar(
            admin_sql,
            "SELECT count(*) FROM lms_user.sessions WHERE user_id = :u"
            " AND revoked_reason = 'LOGOUT'",
            u=ada.id,
        )
        == 1
    )
    # And logging out again, or with a token nobody issued, is the same 204
    assert _logout(phone["refreshToken"]).status == 204
    assert _logout("never-issued").status == 204


# --- what ends every session of a user ----------------------------------------------------------


def test_suspending_a_user_ends_their_sessions_and_their_own_routes_refuse_them_at_once(
    register: Callable[..., Account], admin: Account, admin_sql: Any
) -> None:
    # Given a student with a live session and a still-valid access token
    ada = register("ada@example.com")
    tokens = _tokens("ada@example.com")
    caller = _caller_of(tokens)
    assert call("GET", "/me", caller=caller).status == 200
    # When an administrator suspends her
    assert _set_status(admin, ada.id, "SUSPENDED").status == 200
    # Then her refresh token is refused: access ends when the access token expires
    assert _refresh(tokens["refreshToken"]).status == 401
    assert (
        scalar(
            admin_sql, "SELECT revoked_reason FROM lms_user.sessions WHERE user_id = :u", u=ada.id
        )
        == "SUSPENDED"
    )
    # And the User service's own routes, which read her row anyway, refuse her at once
    me = call("GET", "/me", caller=caller)
    assert (me.status, me.body["title"]) == (403, "Account suspended")
    profile = call("PATCH", "/me/profile", caller=caller, body={"bio": "still here"})
    assert profile.status == 403
    assert scalar(admin_sql, "SELECT bio FROM lms_user.profiles WHERE user_id = :u", u=ada.id) is (
        None
    )
    password = call(
        "POST",
        "/me/password",
        caller=caller,
        body={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )
    assert password.status == 403


def test_revoking_a_role_ends_the_users_sessions(
    register: Callable[..., Account], admin: Account, admin_sql: Any
) -> None:
    # Given an instructor with a session
    ada = register("ada@example.com")
    _role("PUT", admin, ada.id, "INSTRUCTOR")
    tokens = _tokens("ada@example.com")
    assert "INSTRUCTOR" in _caller_of(tokens)["roles"].split()
    # When the role is taken away
    assert _role("DELETE", admin, ada.id, "INSTRUCTOR").status == 200
    # Then no refresh renews the old role: she logs in again and gets the new one
    assert _refresh(tokens["refreshToken"]).status == 401
    assert _caller_of(_tokens("ada@example.com"))["roles"] == "STUDENT"
    # And giving a role takes nothing away
    live = _tokens("ada@example.com")
    _role("PUT", admin, ada.id, "INSTRUCTOR")
    assert _refresh(live["refreshToken"]).status == 200


def test_changing_the_password_ends_every_other_session_and_starts_a_new_one(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    # Given a user logged in on two devices
    ada = register("ada@example.com")
    phone = _tokens("ada@example.com")
    laptop = _tokens("ada@example.com")
    # When she changes her password from the laptop
    reply = call(
        "POST",
        "/me/password",
        caller=_caller_of(laptop),
        body={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )
    # Then the laptop gets the tokens of a new session
    assert reply.status == 200, reply.body
    assert set(reply.body) >= {"accessToken", "refreshToken", "expiresIn"}
    assert _caller_of(reply.body)["sub"] == str(ada.id)
    # And every session from before is over, the phone's and the laptop's old one
    assert _refresh(phone["refreshToken"]).status == 401
    assert _refresh(laptop["refreshToken"]).status == 401
    assert _refresh(reply.body["refreshToken"]).status == 200
    assert _live_sessions(admin_sql, ada.id) == 1
    # And only the new password logs in; it is stored as argon2id
    assert _login("ada@example.com").status == 401
    assert _login("ada@example.com", NEW_PASSWORD).status == 200
    stored = scalar(admin_sql, "SELECT password_hash FROM lms_user.users WHERE id = :u", u=ada.id)
    assert stored.startswith("$argon2id$")


def test_a_wrong_current_password_changes_nothing(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    ada = register("ada@example.com")
    tokens = _tokens("ada@example.com")
    before = scalar(admin_sql, "SELECT password_hash FROM lms_user.users WHERE id = :u", u=ada.id)
    reply = call(
        "POST",
        "/me/password",
        caller=_caller_of(tokens),
        body={"currentPassword": "not the password at all", "newPassword": NEW_PASSWORD},
    )
    assert (reply.status, reply.body["title"]) == (403, "Current password is wrong")
    assert (
        scalar(admin_sql, "SELECT password_hash FROM lms_user.users WHERE id = :u", u=ada.id)
        == before
    )
    assert _refresh(tokens["refreshToken"]).status == 200
    # And a new password that is too short is bad input
    short = call(
        "POST",
        "/me/password",
        caller=_caller_of(tokens),
        body={"currentPassword": PASSWORD, "newPassword": "short"},
    )
    assert short.status == 422


# --- what the platform must add: no-store -----------------------------------------------------


def test_token_routes_declare_that_their_answers_must_not_be_stored() -> None:
    user = service("user")
    for name in ("register", "login", "refresh", "logout"):
        route = user.route(name)
        assert route.public and route.no_store, name
    assert user.route("refresh").throttle == user.route("login").throttle == "strict"


def test_token_answers_carry_cache_control_no_store(register: Callable[..., Account]) -> None:
    register("ada@example.com")
    login = _login("ada@example.com")
    refreshed = _refresh(login.body["refreshToken"])
    me = call("GET", "/me", caller=_caller_of(refreshed.body))
    for reply in (login, refreshed, me):
        headers = {k.lower(): v for k, v in reply.headers.items()}
        assert "no-store" in headers.get("cache-control", "")
