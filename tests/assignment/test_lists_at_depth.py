"""Every shape of every list reads its page from an index, in the index's order, starting at
the cursor: the same cost on page one and tens of thousands of rows deep (EXPLAIN of the
store's own statements, custom and generic plans, as the service role would run them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions.assignment import store
from lms_platform.db import open_connection, params_from_url
from tests.conftest import ADMIN_SOCKET_TIMEOUT

pytestmark = [pytest.mark.integration]

COURSE = uuid.UUID("00000000-0000-4000-8000-00000000c0de")
TARGET = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
HEAVY_STUDENT = uuid.UUID("00000000-0000-4000-8000-00000000beef")


@pytest.fixture(scope="module")
def sql(platform_env: dict[str, str], admin_url: str) -> Iterator[Any]:
    """An admin connection over a schema holding lists worth paging through:

    - 20,000 assignments in one course and 20,000 in others;
    - on one assignment 60,000 submissions of 3,000 students in three statuses, the newest of
      each student marked latest, and 5,000 more of one student;
    - 60,000 submissions to the other assignments, and a grade for every GRADED one.
    """
    connection = open_connection(params_from_url(admin_url), socket_timeout=ADMIN_SOCKET_TIMEOUT)
    connection.run(
        "TRUNCATE lms_assignment.grades, lms_assignment.submissions, "
        "lms_assignment.assignments CASCADE"
    )
    connection.run(
        """
        INSERT INTO lms_assignment.assignments (id, course_id, title, max_score, created_at)
        SELECT CASE WHEN g = 1 THEN CAST(:target AS uuid) ELSE gen_random_uuid() END,
               CASE WHEN g <= 20000 THEN CAST(:course AS uuid) ELSE gen_random_uuid() END,
               'A' || g, 100, now() - make_interval(secs => g)
        FROM generate_series(1, 40000) AS g
        """,
        target=TARGET,
        course=COURSE,
    )
    connection.run(
        """
        INSERT INTO lms_assignment.submissions
          (id, assignment_id, user_id, course_id, submitted_at, content, status, late, latest)
        SELECT gen_random_uuid(), CAST(:target AS uuid),
               CASE WHEN g <= 5000 THEN CAST(:heavy AS uuid)
                    ELSE CAST(md5('student' || (g % 3000)) AS uuid) END,
               CAST(:course AS uuid), now() - make_interval(secs => g), '{}',
               (ARRAY['SUBMITTED', 'LATE', 'GRADED'])[g % 3 + 1], g % 3 = 1, false
        FROM generate_series(1, 65000) AS g
        """,
        target=TARGET,
        heavy=HEAVY_STUDENT,
        course=COURSE,
    )
    connection.run(
        """
        WITH others AS (
          SELECT array_agg(id ORDER BY created_at) AS ids,
                 array_agg(course_id ORDER BY created_at) AS courses
          FROM lms_assignment.assignments WHERE id <> CAST(:target AS uuid)
        )
        INSERT INTO lms_assignment.submissions
          (id, assignment_id, user_id, course_id, submitted_at, content, status, late, latest)
        SELECT gen_random_uuid(), o.ids[1 + g % 39999], CAST(md5('student' || (g % 3000)) AS uuid),
               o.courses[1 + g % 39999], now() - make_interval(secs => g), '{}',
               (ARRAY['SUBMITTED', 'LATE', 'GRADED'])[g % 3 + 1], g % 3 = 1, true
        FROM generate_series(1, 60000) AS g, others AS o
        """,
        target=TARGET,
    )
    # Statistics of the rows just loaded, not of whatever an earlier test left: with a
    # near-empty table's, the planner joins the update below row by row (minutes).
    connection.run("ANALYZE lms_assignment.submissions")
    connection.run(
        """
        UPDATE lms_assignment.submissions SET latest = true
        WHERE id IN (SELECT DISTINCT ON (user_id) id FROM lms_assignment.submissions
                     WHERE assignment_id = CAST(:target AS uuid)
                     ORDER BY user_id, submitted_at DESC, id DESC)
        """,
        target=TARGET,
    )
    connection.run(
        """
        INSERT INTO lms_assignment.grades (id, submission_id, score, passed, graded_by)
        SELECT gen_random_uuid(), id, 50, true, gen_random_uuid()
        FROM lms_assignment.submissions WHERE status = 'GRADED'
        """
    )
    connection.run("ANALYZE lms_assignment.assignments")
    connection.run("ANALYZE lms_assignment.submissions")
    connection.run("ANALYZE lms_assignment.grades")
    yield connection
    connection.run(
        "TRUNCATE lms_assignment.grades, lms_assignment.submissions, "
        "lms_assignment.assignments CASCADE"
    )
    connection.close()


def _plan(sql: Any, statement: str, params: dict[str, Any], generic: bool) -> str:
    sql.run("SET search_path = lms_assignment")
    sql.run(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    try:
        rows = sql.run("EXPLAIN " + statement, **params)
    finally:
        sql.run("RESET plan_cache_mode")
        sql.run("RESET search_path")
    return "\n".join(r[0] for r in rows)


def _full_sorts(plan: str) -> list[str]:
    return [
        line
        for line in plan.splitlines()
        if "Sort" in line and "->" in line and "Incremental Sort" not in line
    ]


def _deep_row(sql: Any, where: str, **params: Any) -> tuple[str, str]:
    """The keys of a row ~30,000 deep (or the last, if fewer) in a list newest first."""
    rows = sql.run(
        f"SELECT submitted_at::text, id::text FROM lms_assignment.submissions s WHERE {where} "
        "ORDER BY submitted_at DESC, id DESC",
        **params,
    )
    row = rows[min(30000, len(rows) - 1)]
    return row[0], row[1]


# (status, student, latest) -> the index that serves the page; each with a deep cursor.
SUBMISSION_SHAPES = {
    (False, False, False): ("ix_submissions_assignment_id",),
    (True, False, False): ("ix_submissions_assignment_status",),
    (False, False, True): ("ix_submissions_latest",),
    (True, False, True): ("ix_submissions_latest_status",),
    (False, True, False): ("ix_submissions_assignment_user",),
    (True, True, False): ("ix_submissions_assignment_user",),
    # One student's latest is one row: its unique index may serve it as well.
    (False, True, True): ("ix_submissions_assignment_user", "uq_submissions_latest"),
    (True, True, True): ("ix_submissions_assignment_user", "uq_submissions_latest"),
}


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
@pytest.mark.parametrize(
    "shape", list(SUBMISSION_SHAPES), ids=lambda s: "status={}-student={}-latest={}".format(*s)
)
def test_an_assignments_submissions_are_read_from_their_index_at_depth(
    sql: Any, shape: tuple[bool, bool, bool], generic: bool
) -> None:
    status, student, latest = shape
    params: dict[str, Any] = {"assignment_id": TARGET, "limit": 21}
    where = "assignment_id = CAST(:assignment_id AS uuid)"
    if status:
        params["status"] = "LATE"
        where += " AND status = :status"
    if student:
        params["student_id"] = HEAVY_STUDENT
        where += " AND user_id = CAST(:student_id AS uuid)"
    if latest:
        where += " AND latest"
    deep = _deep_row(sql, where, **{k: v for k, v in params.items() if k != "limit"})

    first = _plan(sql, store.ASSIGNMENT_SUBMISSIONS[(*shape, False)], params, generic)
    after = _plan(
        sql,
        store.ASSIGNMENT_SUBMISSIONS[(*shape, True)],
        {**params, "submitted_at": deep[0], "after_id": deep[1]},
        generic,
    )

    expected = SUBMISSION_SHAPES[shape]
    for plan in (first, after):
        assert "Seq Scan" not in plan, plan
        used = [name for name in expected if f"using {name} on submissions" in plan]
        assert used, plan
        if used != ["uq_submissions_latest"]:
            assert f"Index Scan Backward using {used[0]}" in plan, plan
            assert not _full_sorts(plan), plan  # the index gives the order
    if "uq_submissions_latest" not in after:
        # A deep page starts at the cursor inside the index rather than skipping rows to it.
        condition = after.split("Index Cond")[1].splitlines()[0]
        assert "submitted_at" in condition, after


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
@pytest.mark.parametrize("course", [False, True], ids=["every-course", "one-course"])
def test_my_submissions_are_read_from_their_index_at_depth(
    sql: Any, course: bool, generic: bool
) -> None:
    student = uuid.UUID(
        sql.run("SELECT CAST(md5('student7') AS uuid)::text")[0][0]
    )  # ~40 submissions: the deepest "mine" is the heavy student's, below
    for who in (student, HEAVY_STUDENT):
        params: dict[str, Any] = {"user_id": who, "limit": 21}
        where = "user_id = CAST(:user_id AS uuid)"
        if course:
            params["course_id"] = COURSE
            where += " AND course_id = CAST(:course_id AS uuid)"
        deep = _deep_row(sql, where, **{k: v for k, v in params.items() if k != "limit"})
        index = "ix_submissions_user_course" if course else "ix_submissions_user_id"
        for after in (False, True):
            extra = {"submitted_at": deep[0], "after_id": deep[1]} if after else {}
            plan = _plan(sql, store.MY_SUBMISSIONS[(course, after)], {**params, **extra}, generic)
            assert "Seq Scan" not in plan, plan
            assert f"Index Scan Backward using {index}" in plan, plan
            assert not _full_sorts(plan), plan


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
def test_a_courses_assignments_are_read_from_their_index_at_depth(sql: Any, generic: bool) -> None:
    deep = sql.run(
        "SELECT created_at::text, id::text FROM lms_assignment.assignments "
        "WHERE course_id = CAST(:c AS uuid) ORDER BY created_at, id OFFSET 15000 LIMIT 1",
        c=COURSE,
    )[0]
    params = {"course_id": COURSE, "limit": 21}
    first = _plan(sql, store.COURSE_ASSIGNMENTS, params, generic)
    after = _plan(
        sql,
        store.COURSE_ASSIGNMENTS_AFTER,
        {**params, "created_at": deep[0], "after_id": deep[1]},
        generic,
    )
    for plan in (first, after):
        assert "Seq Scan" not in plan, plan
        assert "Index Scan using ix_assignments_course_id" in plan, plan
        assert not _full_sorts(plan), plan
    assert "created_at" in after.split("Index Cond")[1].splitlines()[0], after
