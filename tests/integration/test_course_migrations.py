"""The Course service's 0003 migration gives a course that lost its owner one: its
longest-serving instructor; and from then on the database keeps one owner per course."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from functions.registry import service
from lms_local.postgres import drop_database, fresh_database
from lms_platform.db import open_connection, params_from_url
from lms_platform.migrations import RoleLogin, engine_for, provision, upgrade

COURSE = service("course")


@pytest.fixture
def database(admin_url: str) -> Iterator[str]:
    """A database of its own, with the Course service's schema at revision 0001."""
    url = fresh_database(admin_url, "lms_course_migration")
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            provision(connection, COURSE, RoleLogin())
            upgrade(connection, COURSE, "0001")
    finally:
        engine.dispose()
    yield url
    drop_database(url)


def test_a_course_without_an_owner_gets_its_longest_serving_instructor(database: str) -> None:
    # Given a course whose owner was removed (allowed before), and one with its owner
    orphan, owned = uuid.uuid4(), uuid.uuid4()
    first, second, boss, helper = (uuid.uuid4() for _ in range(4))
    # ("first" joined earlier than "second": assigned two minutes ago, not one)
    connection = open_connection(params_from_url(database))
    try:
        for course, slug in ((orphan, "orphan"), (owned, "owned")):
            connection.run(
                "INSERT INTO lms_course.courses (id, title, slug) VALUES (:i, 'T', :s)",
                i=course,
                s=slug,
            )
        for course, user, role, minutes in (
            (orphan, second, "INSTRUCTOR", 1),
            (orphan, first, "INSTRUCTOR", 2),
            (owned, boss, "OWNER", 1),
            (owned, helper, "INSTRUCTOR", 2),
        ):
            connection.run(
                "INSERT INTO lms_course.course_instructors (course_id, user_id, role, assigned_at)"
                " VALUES (:c, :u, :r, now() - make_interval(mins => :m))",
                c=course,
                u=user,
                r=role,
                m=minutes,
            )
        # When the migration runs
        engine = engine_for(database)
        try:
            with engine.begin() as migrating:
                upgrade(migrating, COURSE)
        finally:
            engine.dispose()
        # Then the orphan's earliest instructor owns it, and the other course is unchanged
        roles = {
            (c, u): r
            for c, u, r in connection.run(
                "SELECT course_id, user_id, role FROM lms_course.course_instructors"
            )
        }
        assert roles == {
            (orphan, first): "OWNER",
            (orphan, second): "INSTRUCTOR",
            (owned, boss): "OWNER",
            (owned, helper): "INSTRUCTOR",
        }
        # And the read model of users is there, empty
        assert connection.run("SELECT count(*) FROM lms_course.users") == [[0]]
    finally:
        connection.close()
