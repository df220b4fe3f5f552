"""Handler-test fixtures: accounts made through the real routes, and an administrator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import as_caller, call, row_counts

PASSWORD = "correct horse battery"

USER_TABLES = (
    "lms_user.users",
    "lms_user.profiles",
    "lms_user.user_roles",
    "lms_user.organizations",
    "lms_user.outbox",
)


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    roles: tuple[str, ...]

    @property
    def caller(self) -> dict[str, Any]:
        """The claims API Gateway would pass for this account's token."""
        return as_caller(self.id, *self.roles, email=self.email)


@pytest.fixture
def register(db_clean: None) -> Callable[..., Account]:
    """``register(email, display_name=...)``: a student made by POST /auth/register."""

    def make(email: str, display_name: str = "Ada", password: str = PASSWORD) -> Account:
        reply = call(
            "POST",
            "/auth/register",
            body={"email": email, "password": password, "displayName": display_name},
        )
        assert reply.status == 201, reply.body
        return Account(uuid.UUID(reply.body["id"]), reply.body["email"], ("STUDENT",))

    return make


@pytest.fixture
def admin(db_clean: None) -> Account:
    """An administrator made the documented way (the CLI's use case), not by an endpoint."""
    from functions.user import use_cases

    user = use_cases.create_admin("root@example.com", PASSWORD, "Root")
    return Account(user.id, user.email, tuple(user.roles))


@pytest.fixture
def snapshot(admin_sql: Any) -> Callable[[], dict[str, int]]:
    """Row counts of every User service table: equal before and after means nothing changed."""
    return lambda: row_counts(admin_sql, *USER_TABLES)
