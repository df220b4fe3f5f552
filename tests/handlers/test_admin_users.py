"""Administration of users: offset pages, status, roles; all of it for ADMIN only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.handlers.conftest import Account
from tests.support import EventLog, as_caller, call, scalar

SOMEONE = "0b6e3f2c-6f6e-4a4f-9d3b-2f9a0d7f1c11"
ORG = "5c1d4f0e-3b7a-4c3e-8f51-7d0e2a9b6c44"

# Every admin-only route, with arguments that would succeed for an administrator.
ADMIN_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/users", {}),
    ("GET", "/users/{userId}", {"path_params": {"userId": SOMEONE}}),
    (
        "PATCH",
        "/users/{userId}",
        {"path_params": {"userId": SOMEONE}, "body": {"status": "SUSPENDED"}},
    ),
    ("PUT", "/users/{userId}/roles/{role}", {"path_params": {"userId": SOMEONE, "role": "ADMIN"}}),
    (
        "DELETE",
        "/users/{userId}/roles/{role}",
        {"path_params": {"userId": SOMEONE, "role": "STUDENT"}},
    ),
    ("POST", "/organizations", {"body": {"name": "Acme", "slug": "acme"}}),
    ("GET", "/organizations", {}),
    ("GET", "/organizations/{organizationId}", {"path_params": {"organizationId": ORG}}),
    (
        "PATCH",
        "/organizations/{organizationId}",
        {"path_params": {"organizationId": ORG}, "body": {"name": "Renamed"}},
    ),
]


def _seed_users(admin_sql: Any, count: int, status: str = "ACTIVE") -> list[str]:
    """Users straight into the tables, in creation order (faster than hashing passwords)."""
    ids = []
    for n in range(count):
        user_id = str(uuid.uuid4())
        admin_sql.run(
            "INSERT INTO lms_user.users (id, email, password_hash, status, created_at)"
            " VALUES (:i, :e, 'x', :s, now() + make_interval(secs => :n))",
            i=user_id,
            e=f"{status.lower()}{n}-{user_id[:8]}@example.com",
            s=status,
            n=float(n + 1),
        )
        admin_sql.run(
            "INSERT INTO lms_user.profiles (id, user_id, display_name)"
            " VALUES (gen_random_uuid(), :i, :d)",
            i=user_id,
            d=f"User {n}",
        )
        ids.append(user_id)
    return ids


def _events(admin_sql: Any, event_type: str) -> int:
    return int(
        scalar(
            admin_sql, "SELECT count(*) FROM lms_user.outbox WHERE event_type = :t", t=event_type
        )
    )


# --- who may call -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["STUDENT", "INSTRUCTOR"])
@pytest.mark.parametrize(
    ("method", "path", "arguments"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES]
)
def test_admin_routes_are_403_for_students_and_instructors(
    db_clean: None,
    snapshot: Callable[[], dict[str, int]],
    method: str,
    path: str,
    arguments: dict[str, Any],
    role: str,
) -> None:
    before = snapshot()
    reply = call(method, path, caller=as_caller(uuid.uuid4(), role), **arguments)
    assert reply.status == 403
    assert reply.content_type == "application/problem+json"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "arguments"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES]
)
def test_admin_routes_are_401_without_a_verified_identity(
    db_clean: None,
    snapshot: Callable[[], dict[str, int]],
    method: str,
    path: str,
    arguments: dict[str, Any],
) -> None:
    before = snapshot()
    reply = call(method, path, **arguments)
    assert reply.status == 401
    assert snapshot() == before


def test_a_student_asking_for_another_users_account_is_403(
    register: Callable[..., Account],
) -> None:
    ada = register("ada@example.com")
    bob = register("bob@example.com")
    reply = call("GET", "/users/{userId}", caller=ada.caller, path_params={"userId": str(bob.id)})
    assert reply.status == 403
    assert "bob@example.com" not in str(reply.body)


# --- GET /users ---------------------------------------------------------------------------


def test_users_come_in_offset_pages_in_creation_order(admin: Account, admin_sql: Any) -> None:
    # Given the admin and 24 more users (25 in all)
    seeded = _seed_users(admin_sql, 24)
    everyone = [str(admin.id), *seeded]
    # When the admin reads pages of 10
    pages = []
    offset: int | None = 0
    while offset is not None:
        reply = call(
            "GET", "/users", caller=admin.caller, query={"limit": "10", "offset": str(offset)}
        )
        assert reply.status == 200
        pages.append(reply.body)
        offset = reply.body["nextOffset"]
    # Then three pages cover everyone once, in creation order, the last without nextOffset
    assert [len(p["items"]) for p in pages] == [10, 10, 5]
    assert [p["nextOffset"] for p in pages] == [10, 20, None]
    assert [p["offset"] for p in pages] == [0, 10, 20]
    assert [u["id"] for p in pages for u in p["items"]] == everyone


def test_the_default_page_is_twenty(admin: Account, admin_sql: Any) -> None:
    _seed_users(admin_sql, 24)
    body = call("GET", "/users", caller=admin.caller).body
    assert (len(body["items"]), body["limit"], body["nextOffset"]) == (20, 20, 20)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"limit": "100"}, 200),
        ({"limit": "101"}, 422),
        ({"limit": "0"}, 422),
        ({"limit": "ten"}, 422),
        ({"offset": "10000"}, 200),
        ({"offset": "10001"}, 422),
        ({"offset": "-1"}, 422),
        ({"status": "DELETED"}, 422),
    ],
)
def test_page_size_and_offset_have_documented_limits(
    admin: Account, query: dict[str, str], status: int
) -> None:
    reply = call("GET", "/users", caller=admin.caller, query=query)
    assert reply.status == status
    if status == 422:
        assert reply.content_type == "application/problem+json"
        assert reply.body["errors"][0]["location"][-1] in query


def test_users_can_be_filtered_by_status(admin: Account, admin_sql: Any) -> None:
    # Given active and suspended users
    _seed_users(admin_sql, 3)
    suspended = _seed_users(admin_sql, 2, status="SUSPENDED")
    # When the admin lists only suspended users, Then exactly those come back
    reply = call("GET", "/users", caller=admin.caller, query={"status": "SUSPENDED"})
    assert [u["id"] for u in reply.body["items"]] == suspended
    assert {u["status"] for u in reply.body["items"]} == {"SUSPENDED"}
    active = call("GET", "/users", caller=admin.caller, query={"status": "ACTIVE"}).body
    assert len(active["items"]) == 4  # three seeded and the admin


# --- GET /users/{userId} ------------------------------------------------------------------


def test_an_admin_reads_one_user(admin: Account, register: Callable[..., Account]) -> None:
    ada = register("ada@example.com", "Ada")
    reply = call("GET", "/users/{userId}", caller=admin.caller, path_params={"userId": str(ada.id)})
    assert reply.status == 200
    assert reply.body["email"] == "ada@example.com"
    assert reply.body["profile"]["displayName"] == "Ada"


def test_an_unknown_user_is_404(admin: Account) -> None:
    reply = call("GET", "/users/{userId}", caller=admin.caller, path_params={"userId": SOMEONE})
    assert reply.status == 404
    assert reply.content_type == "application/problem+json"
    assert reply.body["title"] == "User not found"


# --- PATCH /users/{userId} ----------------------------------------------------------------


def test_suspending_and_activating_a_user_publishes_each_change_once(
    admin: Account, register: Callable[..., Account], event_log: EventLog, admin_sql: Any
) -> None:
    ada = register("ada@example.com")

    def set_status(status: str) -> Any:
        return call(
            "PATCH",
            "/users/{userId}",
            caller=admin.caller,
            path_params={"userId": str(ada.id)},
            body={"status": status},
        )

    # When the admin suspends her (twice) and then activates her
    first = set_status("SUSPENDED")
    again = set_status("SUSPENDED")
    back = set_status("ACTIVE")
    # Then each answer shows the status, the table holds the last one
    assert (first.status, first.body["status"]) == (200, "SUSPENDED")
    assert (again.status, again.body["status"]) == (200, "SUSPENDED")
    assert (back.status, back.body["status"]) == (200, "ACTIVE")
    assert (
        scalar(admin_sql, "SELECT status FROM lms_user.users WHERE id = :i", i=ada.id) == "ACTIVE"
    )
    # And exactly two changes were published (the repeat changed nothing), naming the admin
    events = [e for e in event_log.drain(expect=4) if e["detail-type"] == "UserStatusChanged"]
    assert [e["detail"]["data"]["status"] for e in events] == ["SUSPENDED", "ACTIVE"]
    assert {e["detail"]["data"]["changedBy"] for e in events} == {str(admin.id)}
    # each with the user's version and whole state after it
    assert sorted(
        (e["detail"]["data"]["version"], e["detail"]["data"]["status"]) for e in events
    ) == [
        (2, "SUSPENDED"),
        (3, "ACTIVE"),
    ]
    assert [e["detail"]["data"]["roles"] for e in events] == [["STUDENT"], ["STUDENT"]]
    assert {e["detail"]["aggregateId"] for e in events} == {str(ada.id)}
    assert _events(admin_sql, "UserStatusChanged") == 2


def test_an_admin_cannot_suspend_themselves(
    admin: Account, snapshot: Callable[[], dict[str, int]], admin_sql: Any
) -> None:
    before = snapshot()
    reply = call(
        "PATCH",
        "/users/{userId}",
        caller=admin.caller,
        path_params={"userId": str(admin.id)},
        body={"status": "SUSPENDED"},
    )
    assert reply.status == 409
    assert scalar(admin_sql, "SELECT status FROM lms_user.users WHERE id = :i", i=admin.id) == (
        "ACTIVE"
    )
    assert snapshot() == before


def test_suspending_an_unknown_user_is_404(admin: Account) -> None:
    reply = call(
        "PATCH",
        "/users/{userId}",
        caller=admin.caller,
        path_params={"userId": SOMEONE},
        body={"status": "SUSPENDED"},
    )
    assert reply.status == 404


def test_an_unknown_status_is_422_and_changes_nothing(
    admin: Account, register: Callable[..., Account], admin_sql: Any
) -> None:
    ada = register("ada@example.com")
    reply = call(
        "PATCH",
        "/users/{userId}",
        caller=admin.caller,
        path_params={"userId": str(ada.id)},
        body={"status": "DELETED"},
    )
    assert reply.status == 422
    assert scalar(admin_sql, "SELECT status FROM lms_user.users WHERE id = :i", i=ada.id) == (
        "ACTIVE"
    )


# --- roles --------------------------------------------------------------------------------


def _role(method: str, admin: Account, user_id: object, role: str) -> Any:
    return call(
        method,
        "/users/{userId}/roles/{role}",
        caller=admin.caller,
        path_params={"userId": str(user_id), "role": role},
    )


def test_assigning_a_role_publishes_role_assigned_once(
    admin: Account, register: Callable[..., Account], event_log: EventLog, admin_sql: Any
) -> None:
    ada = register("ada@example.com")
    # When the admin makes her an instructor, twice
    first = _role("PUT", admin, ada.id, "INSTRUCTOR")
    again = _role("PUT", admin, ada.id, "INSTRUCTOR")
    # Then she has both roles, once each
    assert first.status == again.status == 200
    assert again.body["roles"] == ["INSTRUCTOR", "STUDENT"]
    assert (
        scalar(admin_sql, "SELECT count(*) FROM lms_user.user_roles WHERE user_id = :i", i=ada.id)
        == 2
    )
    # And one RoleAssigned was published: the repeat emitted nothing. It carries her whole
    # state after the change and the version that orders it after her registration (1).
    events = [e for e in event_log.drain(expect=3) if e["detail-type"] == "RoleAssigned"]
    assert [e["detail"]["data"] for e in events] == [
        {
            "userId": str(ada.id),
            "role": "INSTRUCTOR",
            "assignedBy": str(admin.id),
            "version": 2,
            "status": "ACTIVE",
            "roles": ["INSTRUCTOR", "STUDENT"],
        }
    ]
    assert _events(admin_sql, "RoleAssigned") == 1


def test_revoking_a_role_publishes_role_revoked_once(
    admin: Account, register: Callable[..., Account], event_log: EventLog, admin_sql: Any
) -> None:
    ada = register("ada@example.com")
    _role("PUT", admin, ada.id, "INSTRUCTOR")
    # When the admin takes the role away, twice
    first = _role("DELETE", admin, ada.id, "INSTRUCTOR")
    again = _role("DELETE", admin, ada.id, "INSTRUCTOR")
    # Then she is a student again, and one RoleRevoked was published, at version 3
    assert first.status == again.status == 200
    assert again.body["roles"] == ["STUDENT"]
    events = [e for e in event_log.drain(expect=3) if e["detail-type"] == "RoleRevoked"]
    assert [e["detail"]["data"] for e in events] == [
        {
            "userId": str(ada.id),
            "role": "INSTRUCTOR",
            "revokedBy": str(admin.id),
            "version": 3,
            "status": "ACTIVE",
            "roles": ["STUDENT"],
        }
    ]
    assert _events(admin_sql, "RoleRevoked") == 1


def test_an_admin_cannot_revoke_their_own_admin_role(
    admin: Account, snapshot: Callable[[], dict[str, int]]
) -> None:
    before = snapshot()
    reply = _role("DELETE", admin, admin.id, "ADMIN")
    assert reply.status == 409
    assert snapshot() == before


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_an_unknown_role_is_422_and_changes_nothing(
    admin: Account,
    register: Callable[..., Account],
    snapshot: Callable[[], dict[str, int]],
    method: str,
) -> None:
    ada = register("ada@example.com")
    before = snapshot()
    reply = _role(method, admin, ada.id, "SUPERUSER")
    assert reply.status == 422
    assert reply.body["errors"][0]["location"][-1] == "role"
    assert snapshot() == before


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_role_change_for_an_unknown_user_is_404(
    admin: Account, snapshot: Callable[[], dict[str, int]], method: str
) -> None:
    before = snapshot()
    assert _role(method, admin, SOMEONE, "INSTRUCTOR").status == 404
    assert snapshot() == before
