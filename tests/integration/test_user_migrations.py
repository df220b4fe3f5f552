"""The User service's 0003 migration brings stored emails to their NFKC case-folded form,
replaces the check constraint, and refuses to merge accounts that would become one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pg8000.exceptions import DatabaseError

from functions.registry import service
from lms_local.postgres import drop_database, fresh_database
from lms_platform.db import open_connection, params_from_url
from lms_platform.migrations import RoleLogin, engine_for, provision, upgrade
from tests.support import wide

USER = service("user")


@pytest.fixture(scope="module")
def migration_database(admin_url: str) -> Iterator[str]:
    """A database of this module's own (the service's schema name is fixed)."""
    url = fresh_database(admin_url, "lms_migration")
    yield url
    drop_database(url)


@pytest.fixture
def database(migration_database: str) -> str:
    """The User service's schema, afresh, at revision 0001."""
    engine = engine_for(migration_database)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS lms_user CASCADE"))
            provision(connection, USER, RoleLogin())
            upgrade(connection, USER, "0001")
    finally:
        engine.dispose()
    return migration_database


def _insert(url: str, *emails: str) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in emails]
    connection = open_connection(params_from_url(url))
    try:
        for user_id, email in zip(ids, emails, strict=True):
            connection.run(
                "INSERT INTO lms_user.users (id, email, password_hash) VALUES (:i, :e, 'x')",
                i=user_id,
                e=email,
            )
    finally:
        connection.close()
    return ids


def _upgrade(url: str) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            upgrade(connection, USER)
    finally:
        engine.dispose()


def _run(url: str, sql: str, **params: Any) -> Any:
    connection = open_connection(params_from_url(url))
    try:
        return connection.run(sql, **params)
    finally:
        connection.close()


def test_stored_emails_are_folded_and_the_new_constraint_holds(database: str) -> None:
    # Given accounts stored before: one in full-width letters (lower case, so the old
    # check let it in), one plain, one with a long s that folds to s
    fullwidth, plain, long_s = _insert(
        database, wide("ada@example.com"), "grace@example.com", "\u017fam@example.com"
    )
    # When the migration runs
    _upgrade(database)
    # Then each is stored in its folded form
    rows = dict(_run(database, "SELECT id, email FROM lms_user.users"))
    assert rows == {
        fullwidth: "ada@example.com",
        plain: "grace@example.com",
        long_s: "sam@example.com",
    }
    # And the database refuses an email in any other form
    for unfolded in ("Ada@example.com", wide("bob") + "@example.com"):
        with pytest.raises(DatabaseError, match="ck_users_email_folded"):
            _insert(database, unfolded)
    # And every user starts at version 1
    assert _run(database, "SELECT DISTINCT version FROM lms_user.users") == [[1]]


def test_two_accounts_that_would_become_one_stop_the_migration_and_change_nothing(
    database: str,
) -> None:
    # Given two accounts that differ only by full-width letters
    first, second = _insert(database, "ada@example.com", wide("ada") + "@example.com")
    # When the migration runs, Then it stops and names both
    with pytest.raises(RuntimeError, match=str(second)) as raised:
        _upgrade(database)
    assert str(first) in str(raised.value)
    # And nothing changed: both rows as they were, still at revision 0001
    emails = sorted(e for (e,) in _run(database, "SELECT email FROM lms_user.users"))
    assert emails == ["ada@example.com", wide("ada") + "@example.com"]
    assert _run(database, "SELECT version_num FROM lms_user.alembic_version") == [["0001"]]
