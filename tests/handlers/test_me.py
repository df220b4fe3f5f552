"""GET /me and PATCH /me/profile: the caller's own account."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.handlers.conftest import Account
from tests.support import EventLog, as_caller, call, scalar


def test_get_me_returns_the_callers_account_profile_and_roles(
    register: Callable[..., Account],
) -> None:
    # Given two students
    ada = register("ada@example.com", "Ada")
    register("bob@example.com", "Bob")
    # When Ada asks who she is
    reply = call("GET", "/me", caller=ada.caller)
    # Then she gets her own account, not anyone else's
    assert reply.status == 200
    assert reply.body["id"] == str(ada.id)
    assert reply.body["email"] == "ada@example.com"
    assert reply.body["roles"] == ["STUDENT"]
    assert reply.body["profile"]["displayName"] == "Ada"


def test_get_me_without_a_verified_identity_is_401(db_clean: None) -> None:
    reply = call("GET", "/me")
    assert reply.status == 401
    assert reply.content_type == "application/problem+json"


def test_get_me_for_an_account_that_no_longer_exists_is_404(db_clean: None) -> None:
    # Given a still-valid token of an account that is gone
    reply = call("GET", "/me", caller=as_caller(uuid.uuid4(), "STUDENT"))
    assert reply.status == 404


def test_patch_profile_changes_it_and_publishes_profile_updated(
    register: Callable[..., Account], event_log: EventLog, admin_sql: Any
) -> None:
    # Given a student
    ada = register("ada@example.com", "Ada")
    event_log.drain(expect=1)
    # When she changes her profile
    reply = call(
        "PATCH",
        "/me/profile",
        caller=ada.caller,
        body={
            "displayName": "Ada L.",
            "avatarUrl": "https://img.example.com/ada.png",
            "bio": "Counts things",
        },
    )
    # Then the answer shows the new profile, as does the table
    assert reply.status == 200
    assert reply.body["profile"] == {
        "displayName": "Ada L.",
        "avatarUrl": "https://img.example.com/ada.png",
        "bio": "Counts things",
    }
    assert scalar(admin_sql, "SELECT bio FROM lms_user.profiles WHERE user_id = :i", i=ada.id) == (
        "Counts things"
    )
    # And ProfileUpdated was published with the new values
    (event,) = [e for e in event_log.drain(expect=2) if e["detail-type"] == "ProfileUpdated"]
    assert event["detail"]["aggregateId"] == str(ada.id)
    assert event["detail"]["data"] == {
        "userId": str(ada.id),
        "displayName": "Ada L.",
        "avatarUrl": "https://img.example.com/ada.png",
        "bio": "Counts things",
    }


def test_patch_profile_changes_only_the_fields_sent(register: Callable[..., Account]) -> None:
    # Given a profile with an avatar and a bio
    ada = register("ada@example.com", "Ada")
    call(
        "PATCH",
        "/me/profile",
        caller=ada.caller,
        body={"avatarUrl": "https://img.example.com/ada.png", "bio": "Counts things"},
    )
    # When only the bio is sent, Then the name and avatar stay
    reply = call("PATCH", "/me/profile", caller=ada.caller, body={"bio": "Writes programs"})
    assert reply.body["profile"] == {
        "displayName": "Ada",
        "avatarUrl": "https://img.example.com/ada.png",
        "bio": "Writes programs",
    }
    # And an explicit null clears the avatar while keeping the rest
    reply = call("PATCH", "/me/profile", caller=ada.caller, body={"avatarUrl": None})
    assert reply.body["profile"] == {
        "displayName": "Ada",
        "avatarUrl": None,
        "bio": "Writes programs",
    }


def test_patch_profile_with_a_bad_avatar_url_is_422_and_changes_nothing(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    ada = register("ada@example.com", "Ada")
    reply = call(
        "PATCH",
        "/me/profile",
        caller=ada.caller,
        body={"displayName": "Changed", "avatarUrl": "not a url"},
    )
    assert reply.status == 422
    assert any(e["location"][-1] == "avatarUrl" for e in reply.body["errors"])
    assert (
        scalar(admin_sql, "SELECT display_name FROM lms_user.profiles WHERE user_id = :i", i=ada.id)
        == "Ada"
    )
    assert (
        scalar(
            admin_sql, "SELECT count(*) FROM lms_user.outbox WHERE event_type = 'ProfileUpdated'"
        )
        == 0
    )
