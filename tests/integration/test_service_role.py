"""A service's role reaches its own schema's rows and nothing else, and cannot change DDL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pg8000.native
import pytest
from pg8000.exceptions import DatabaseError

from lms_platform.db import open_connection, params_from_url, sqlstate

INSUFFICIENT_PRIVILEGE = "42501"


@pytest.fixture
def other_schemas(platform_env: dict[str, str], admin_sql: Any) -> Iterator[None]:
    """Rows the User service must not reach: another service's schema (none exists yet
    besides the User service, so a throwaway one made like theirs) and ``public``."""
    admin_sql.run("CREATE SCHEMA IF NOT EXISTS lms_throwaway")
    admin_sql.run("CREATE TABLE IF NOT EXISTS lms_throwaway.grades (student text, grade int)")
    admin_sql.run("INSERT INTO lms_throwaway.grades VALUES ('someone', 3)")
    admin_sql.run("CREATE TABLE IF NOT EXISTS public.lms_probe (secret text)")
    admin_sql.run("INSERT INTO public.lms_probe VALUES ('not for services')")
    yield
    admin_sql.run("DROP SCHEMA lms_throwaway CASCADE")
    admin_sql.run("DROP TABLE public.lms_probe")


@pytest.fixture
def as_service(admin_url: str, platform_env: dict[str, str]) -> Iterator[pg8000.native.Connection]:
    """A connection logged in as the User service's role."""
    connection = open_connection(params_from_url(admin_url, user="lms_user"))
    yield connection
    connection.close()


def _refused(connection: pg8000.native.Connection, sql: str) -> str | None:
    with pytest.raises(DatabaseError) as raised:
        connection.run(sql)
    return sqlstate(raised.value)


def test_the_role_reads_and_writes_its_own_tables(as_service: pg8000.native.Connection) -> None:
    # The positive control: the refusals below are about privileges, not a broken login
    assert as_service.run("SELECT current_user, current_schemas(false)") == [
        ["lms_user", ["lms_user"]]
    ]
    as_service.run("BEGIN")
    as_service.run(
        "INSERT INTO organizations (id, name, slug) VALUES (gen_random_uuid(), 'x', 'probe-org')"
    )
    assert as_service.run("SELECT count(*) FROM organizations WHERE slug = 'probe-org'") == [[1]]
    as_service.run("ROLLBACK")


@pytest.mark.usefixtures("other_schemas")
def test_another_services_schema_is_unreachable(as_service: pg8000.native.Connection) -> None:
    # When the User service's role reads another service's table by its full name
    # Then the server refuses it
    assert _refused(as_service, "SELECT * FROM lms_throwaway.grades") == INSUFFICIENT_PRIVILEGE
    assert (
        _refused(as_service, "INSERT INTO lms_throwaway.grades VALUES ('me', 5)")
        == INSUFFICIENT_PRIVILEGE
    )


@pytest.mark.usefixtures("other_schemas")
def test_tables_in_public_are_unreachable(as_service: pg8000.native.Connection) -> None:
    assert _refused(as_service, "SELECT * FROM public.lms_probe") == INSUFFICIENT_PRIVILEGE


def test_the_role_cannot_create_tables_in_its_schema(as_service: pg8000.native.Connection) -> None:
    assert _refused(as_service, "CREATE TABLE lms_user.smuggled (x int)") == INSUFFICIENT_PRIVILEGE


def test_the_role_cannot_create_tables_in_public(as_service: pg8000.native.Connection) -> None:
    assert _refused(as_service, "CREATE TABLE public.smuggled (x int)") == INSUFFICIENT_PRIVILEGE


def test_the_role_cannot_create_schemas(as_service: pg8000.native.Connection) -> None:
    assert _refused(as_service, "CREATE SCHEMA smuggled") == INSUFFICIENT_PRIVILEGE


def test_the_role_cannot_alter_or_drop_its_tables(as_service: pg8000.native.Connection) -> None:
    # Tables belong to the migrating role: structure changes only through migrations
    assert _refused(as_service, "ALTER TABLE users ADD COLUMN extra text") == INSUFFICIENT_PRIVILEGE
    assert _refused(as_service, "DROP TABLE organizations") == INSUFFICIENT_PRIVILEGE


def test_the_role_reads_but_never_writes_the_migration_state(
    as_service: pg8000.native.Connection,
) -> None:
    assert as_service.run("SELECT version_num FROM alembic_version")
    assert (
        _refused(as_service, "UPDATE alembic_version SET version_num = 'x'")
        == INSUFFICIENT_PRIVILEGE
    )
    assert _refused(as_service, "DELETE FROM alembic_version") == INSUFFICIENT_PRIVILEGE
