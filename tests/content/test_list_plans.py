"""The Content lists read their pages from an index at depth (EXPLAIN of the store's own
statements, in custom and generic plans), and would scan without one."""

from __future__ import annotations

from typing import Any

import pytest

from functions.content import store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

COURSE = "00000000-0000-4000-8000-0000000000c0"
LESSON = "00000000-0000-4000-8000-00000000001e"
ITEM = "00000000-0000-4000-8000-0000000000a1"
QUIZ = "00000000-0000-4000-8000-0000000000b2"
HEAVY = "00000000-0000-4000-8000-000000000001"
AUTHOR = "00000000-0000-4000-8000-000000000002"


@pytest.fixture
def much_content(admin_sql: Any) -> None:
    """40,000 items over 4,000 lessons (40 in one lesson), 5,000 versions of one item,
    30,000 attempts at one quiz (3,000 of them by one student) among 60,000."""
    admin_sql.run(
        """
        INSERT INTO lms_content.content_items
          (id, course_id, lesson_id, type, title, created_by, created_at)
        SELECT gen_random_uuid(),
               CASE WHEN g <= 40 OR g % 10 = 0 THEN CAST(:course AS uuid)
                    ELSE gen_random_uuid() END,
               CASE WHEN g <= 40 THEN CAST(:lesson AS uuid)
                    ELSE ('00000000-0000-4000-8000-' || lpad((g % 4000)::text, 12, '0'))::uuid
               END,
               'pdf', 'Item ' || g, CAST(:author AS uuid), now() - make_interval(mins => g)
        FROM generate_series(1, 40000) AS g
        """,
        course=COURSE,
        lesson=LESSON,
        author=AUTHOR,
    )
    admin_sql.run(
        """
        INSERT INTO lms_content.content_items (id, course_id, lesson_id, type, title,
          pass_mark_pct, created_by)
        VALUES (CAST(:item AS uuid), CAST(:course AS uuid), CAST(:lesson AS uuid), 'pdf', 'Deep',
                NULL, CAST(:author AS uuid)),
               (CAST(:quiz AS uuid), CAST(:course AS uuid), CAST(:lesson AS uuid), 'quiz', 'Q',
                70, CAST(:author AS uuid))
        """,
        item=ITEM,
        quiz=QUIZ,
        course=COURSE,
        lesson=LESSON,
        author=AUTHOR,
    )
    admin_sql.run(
        """
        INSERT INTO lms_content.content_versions (id, content_item_id, version, status,
          created_by, pass_mark_pct)
        SELECT gen_random_uuid(), CAST(:item AS uuid), g, 'READY', CAST(:author AS uuid), NULL
        FROM generate_series(1, 5000) AS g
        """,
        item=ITEM,
        author=AUTHOR,
    )
    admin_sql.run(
        """
        WITH v AS (
          INSERT INTO lms_content.content_versions (id, content_item_id, version, status,
            created_by, pass_mark_pct)
          VALUES (gen_random_uuid(), CAST(:quiz AS uuid), 1, 'READY', CAST(:author AS uuid), 70)
          RETURNING id
        )
        INSERT INTO lms_content.quiz_attempts (id, content_item_id, content_version_id, user_id,
          answers, results, correct_count, question_count, score_pct, pass_mark_pct, passed,
          created_at)
        SELECT gen_random_uuid(),
               CASE WHEN g % 2 = 0 THEN CAST(:quiz AS uuid) ELSE CAST(:item AS uuid) END,
               v.id,
               CASE WHEN g % 20 = 0 THEN CAST(:heavy AS uuid) ELSE gen_random_uuid() END,
               '{}', '[]', 1, 1, 100, 70, true, now() - make_interval(secs => g)
        FROM generate_series(1, 60000) AS g, v
        """,
        quiz=QUIZ,
        item=ITEM,
        heavy=HEAVY,
        author=AUTHOR,
    )
    for table in ("content_items", "content_versions", "quiz_attempts"):
        admin_sql.run(f"ANALYZE lms_content.{table}")


def _plan(admin_sql: Any, sql: str, params: dict[str, Any], generic: bool) -> str:
    admin_sql.run("SET search_path = lms_content")
    admin_sql.run(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    try:
        return "\n".join(r[0] for r in admin_sql.run("EXPLAIN " + sql, **params))
    finally:
        admin_sql.run("RESET plan_cache_mode")
        admin_sql.run("RESET search_path")


def _deep_attempt(admin_sql: Any, where: str, offset: int, **params: Any) -> dict[str, str]:
    row = admin_sql.run(
        f"SELECT created_at::text, id::text FROM lms_content.quiz_attempts WHERE {where} "
        f"ORDER BY created_at DESC, id DESC OFFSET {offset} LIMIT 1",
        **params,
    )[0]
    return {"created_at": row[0], "after_id": row[1]}


def _in_index_order(plan: str, index: str, table: str) -> None:
    assert "Seq Scan" not in plan, plan
    assert f"using {index} on {table}" in plan, plan
    sorts = [line for line in plan.splitlines() if "Sort" in line and "->" in line]
    assert not sorts, plan  # the index gives the order


GENERIC = pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])


@GENERIC
def test_a_lessons_items_come_from_the_lesson_index(
    much_content: None, admin_sql: Any, generic: bool
) -> None:
    plan = _plan(
        admin_sql,
        store.LESSON_ITEMS,
        {"lesson_id": LESSON, "course_id": COURSE, "everything": False},
        generic,
    )
    # A lesson holds at most 50 items, so the planner may sort them after the index lookup.
    assert "Seq Scan" not in plan, plan
    assert "ix_content_items_lesson_id" in plan, plan
    assert "Index Cond: (lesson_id = " in plan, plan


@GENERIC
def test_a_page_of_versions_deep_down_reads_the_item_version_index_backwards(
    much_content: None, admin_sql: Any, generic: bool
) -> None:
    plan = _plan(
        admin_sql, store.VERSIONS_AFTER, {"item_id": ITEM, "after": 200, "limit": 21}, generic
    )
    _in_index_order(plan, "uq_content_versions_item_version", "content_versions v")
    assert "Index Scan Backward" in plan, plan
    condition = plan.split("Index Cond:")[1].splitlines()[0]
    assert "content_item_id" in condition and "version" in condition, plan


@GENERIC
def test_pages_of_attempts_at_depth_use_their_indexes(
    much_content: None, admin_sql: Any, generic: bool
) -> None:
    mine = _deep_attempt(
        admin_sql, "content_item_id = CAST(:q AS uuid) AND user_id = CAST(:u AS uuid)", 1200,
        q=QUIZ, u=HEAVY,
    )  # fmt: skip
    everyone = _deep_attempt(admin_sql, "content_item_id = CAST(:q AS uuid)", 25000, q=QUIZ)
    base = {"item_id": QUIZ, "limit": 21}
    plans = {
        "mine": _plan(admin_sql, store.ATTEMPTS_OF_USER, {**base, "user_id": HEAVY}, generic),
        "mine-deep": _plan(
            admin_sql, store.ATTEMPTS_OF_USER_AFTER, {**base, "user_id": HEAVY, **mine}, generic
        ),
        "all": _plan(admin_sql, store.ATTEMPTS, base, generic),
        "all-deep": _plan(admin_sql, store.ATTEMPTS_AFTER, {**base, **everyone}, generic),
    }
    for name in ("mine", "mine-deep"):
        _in_index_order(plans[name], "ix_quiz_attempts_item_user", "quiz_attempts")
    for name in ("all", "all-deep"):
        _in_index_order(plans[name], "ix_quiz_attempts_item_created", "quiz_attempts")
    for name in ("mine-deep", "all-deep"):
        condition = plans[name].split("Index Cond:")[1].splitlines()[0]
        assert "created_at" in condition, plans[name]


@GENERIC
def test_retiring_a_courses_items_finds_them_by_the_course_index(
    much_content: None, admin_sql: Any, generic: bool
) -> None:
    plan = _plan(admin_sql, store.RETIRE_COURSE_ITEMS, {"course_id": COURSE}, generic)
    assert "Seq Scan" not in plan, plan
    assert "ix_content_items_course_id" in plan, plan


def test_without_its_index_the_attempts_list_would_scan(much_content: None, admin_sql: Any) -> None:
    admin_sql.run("BEGIN")
    try:
        for name in ("ix_quiz_attempts_item_user", "ix_quiz_attempts_item_created"):
            admin_sql.run(f"DROP INDEX lms_content.{name}")
        plan = _plan(
            admin_sql, store.ATTEMPTS_OF_USER, {"item_id": QUIZ, "user_id": HEAVY, "limit": 21},
            False,
        )  # fmt: skip
    finally:
        admin_sql.run("ROLLBACK")
    assert "Seq Scan on quiz_attempts" in plan, plan
