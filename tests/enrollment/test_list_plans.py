"""The enrollment lists read their pages from an index at depth (EXPLAIN of the store's own
statements on 50,000 enrollments), and would scan the table without one."""

from __future__ import annotations

from typing import Any

import pytest

from functions.enrollment import store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

HEAVY_USER = "00000000-0000-4000-8000-000000000001"
BIG_COURSE = "00000000-0000-4000-8000-0000000000c0"


@pytest.fixture
def many_enrollments(admin_sql: Any) -> None:
    """50,000 enrollments: 3,000 of one student, 5,000 in one course, the rest spread."""
    admin_sql.run(
        """
        INSERT INTO lms_enrollment.enrollments
          (id, user_id, course_id, status, progress_pct, enrolled_at, completed_at)
        SELECT gen_random_uuid(),
               CASE WHEN g <= 3000 THEN CAST(:heavy AS uuid) ELSE gen_random_uuid() END,
               CASE WHEN g BETWEEN 3001 AND 8000 THEN CAST(:big AS uuid)
                    ELSE gen_random_uuid() END,
               CASE WHEN g % 3 = 0 THEN 'COMPLETED' ELSE 'ACTIVE' END,
               CASE WHEN g % 3 = 0 THEN 100 ELSE 50 END,
               now() - make_interval(mins => g),
               CASE WHEN g % 3 = 0 THEN now() END
        FROM generate_series(1, 50000) AS g
        """,
        heavy=HEAVY_USER,
        big=BIG_COURSE,
    )
    admin_sql.run("ANALYZE lms_enrollment.enrollments")


def _plan(admin_sql: Any, sql: str, params: dict[str, Any], generic: bool) -> str:
    admin_sql.run("SET search_path = lms_enrollment")
    admin_sql.run(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    try:
        return "\n".join(r[0] for r in admin_sql.run("EXPLAIN " + sql, **params))
    finally:
        admin_sql.run("RESET plan_cache_mode")
        admin_sql.run("RESET search_path")


def _deep(admin_sql: Any, where: str, offset: int, **params: Any) -> dict[str, str]:
    row = admin_sql.run(
        f"SELECT enrolled_at::text, id::text FROM lms_enrollment.enrollments e WHERE {where} "
        f"ORDER BY enrolled_at DESC, id DESC OFFSET {offset} LIMIT 1",
        **params,
    )[0]
    return {"enrolled_at": row[0], "after_id": row[1]}


def _assert_index_order(plan: str, index: str) -> None:
    # The course read model joined to a page may be scanned: it is small (empty here, as
    # the cleaned schema's statistics say), the enrollments never.
    assert "Seq Scan on enrollments" not in plan, plan
    assert f"Index Scan Backward using {index} on enrollments" in plan, plan
    sorts = [line for line in plan.splitlines() if "Sort" in line and "->" in line]
    assert not sorts, plan  # the index gives the order


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
def test_my_enrollments_pages_use_the_user_indexes_at_depth(
    many_enrollments: None, admin_sql: Any, generic: bool
) -> None:
    base = {"user_id": HEAVY_USER, "limit": 21}
    deep = _deep(admin_sql, "user_id = CAST(:u AS uuid)", 2500, u=HEAVY_USER)
    deep_completed = _deep(
        admin_sql, "user_id = CAST(:u AS uuid) AND status = 'COMPLETED'", 800, u=HEAVY_USER
    )

    plans = {
        "all": _plan(admin_sql, store.MY_ENROLLMENTS, base, generic),
        "all-deep": _plan(admin_sql, store.MY_ENROLLMENTS_AFTER, {**base, **deep}, generic),
        "status": _plan(
            admin_sql, store.MY_ENROLLMENTS_BY_STATUS, {**base, "status": "COMPLETED"}, generic
        ),
        "status-deep": _plan(
            admin_sql,
            store.MY_ENROLLMENTS_BY_STATUS_AFTER,
            {**base, "status": "COMPLETED", **deep_completed},
            generic,
        ),
    }

    _assert_index_order(plans["all"], "ix_enrollments_user_enrolled")
    _assert_index_order(plans["all-deep"], "ix_enrollments_user_enrolled")
    _assert_index_order(plans["status"], "ix_enrollments_user_status")
    _assert_index_order(plans["status-deep"], "ix_enrollments_user_status")
    for name in ("all-deep", "status-deep"):
        condition = plans[name].split("Index Cond:")[1].splitlines()[0]
        assert "user_id" in condition and "enrolled_at" in condition, plans[name]


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
def test_a_courses_enrollments_page_uses_the_course_index_at_depth(
    many_enrollments: None, admin_sql: Any, generic: bool
) -> None:
    deep = _deep(admin_sql, "course_id = CAST(:c AS uuid)", 4000, c=BIG_COURSE)
    plan = _plan(
        admin_sql,
        store.COURSE_ENROLLMENTS_AFTER,
        {"course_id": BIG_COURSE, "limit": 21, **deep},
        generic,
    )
    _assert_index_order(plan, "ix_enrollments_course_id")


def test_without_its_indexes_my_enrollments_would_scan_the_table(
    many_enrollments: None, admin_sql: Any
) -> None:
    admin_sql.run("BEGIN")
    try:
        admin_sql.run(
            "ALTER TABLE lms_enrollment.enrollments DROP CONSTRAINT uq_enrollments_user_course"
        )
        for name in ("ix_enrollments_user_enrolled", "ix_enrollments_user_status"):
            admin_sql.run(f"DROP INDEX lms_enrollment.{name}")
        plan = _plan(admin_sql, store.MY_ENROLLMENTS, {"user_id": HEAVY_USER, "limit": 21}, False)
    finally:
        admin_sql.run("ROLLBACK")
    assert "Seq Scan on enrollments" in plan, plan
