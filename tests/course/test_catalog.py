"""The catalog: published courses newest first, keyset pages, one round trip, its index."""

from __future__ import annotations

from typing import Any

import pytest

from functions.course import store
from tests.course.builders import build_course, create_course, instructor, ok
from tests.course.roundtrips import counting_round_trips
from tests.support import call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def test_pages_walk_every_published_course_newest_first_once() -> None:
    teacher = instructor()
    published = [build_course(teacher, lessons_per_module=(1,), title=f"C{i}").id for i in range(7)]
    create_course(teacher, "Still a draft")

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = ok(call("GET", "/courses", query=query))
        pages += 1
        seen += [c["id"] for c in page["items"]]
        assert all(c["status"] == "PUBLISHED" for c in page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == list(reversed(published))


def test_the_title_search_finds_matches_only_and_treats_wildcards_literally() -> None:
    teacher = instructor()
    build_course(teacher, lessons_per_module=(1,), title="Advanced Python")
    build_course(teacher, lessons_per_module=(1,), title="Rust for 100% beginners")
    build_course(teacher, lessons_per_module=(1,), title="Cooking")

    python = ok(call("GET", "/courses", query={"q": "PYTHON"}))
    percent = ok(call("GET", "/courses", query={"q": "100%"}))
    underscore = ok(call("GET", "/courses", query={"q": "_"}))

    assert [c["title"] for c in python["items"]] == ["Advanced Python"]
    assert [c["title"] for c in percent["items"]] == ["Rust for 100% beginners"]
    assert underscore["items"] == []


@pytest.mark.parametrize(
    "query", [{"cursor": "not-a-cursor"}, {"cursor": "AAAA"}, {"limit": "0"}, {"limit": "101"}]
)
def test_a_bad_cursor_or_limit_is_refused_not_served(query: dict[str, str]) -> None:
    reply = call("GET", "/courses", query=query)
    assert reply.status in (400, 422)
    assert reply.content_type == "application/problem+json"


def test_a_cursor_altered_by_one_character_is_a_400() -> None:
    teacher = instructor()
    for i in range(3):
        build_course(teacher, lessons_per_module=(1,), title=f"T{i}")
    cursor = ok(call("GET", "/courses", query={"limit": "1"}))["nextCursor"]
    altered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    assert call("GET", "/courses", query={"cursor": altered}).status == 400


def test_a_warm_catalog_page_is_one_database_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    teacher = instructor()
    for i in range(3):
        build_course(teacher, lessons_per_module=(1,), title=f"R{i}")
    first = ok(call("GET", "/courses", query={"limit": "2"}))
    ok(call("GET", "/courses", query={"limit": "2", "cursor": first["nextCursor"]}))  # warm

    with counting_round_trips(monkeypatch) as first_page:
        ok(call("GET", "/courses", query={"limit": "2"}))
    with counting_round_trips(monkeypatch) as next_page:
        ok(call("GET", "/courses", query={"limit": "2", "cursor": first["nextCursor"]}))

    assert (first_page.count, next_page.count) == (1, 1)


# --- the plan at depth -----------------------------------------------------------------------


def _plan(admin_sql: Any, sql: str, params: dict[str, Any], generic: bool) -> str:
    """EXPLAIN of the store's own statement, as the service role would run it."""
    admin_sql.run("SET search_path = lms_course")
    admin_sql.run(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    rows = admin_sql.run("EXPLAIN " + sql, **params)
    admin_sql.run("RESET plan_cache_mode")
    admin_sql.run("RESET search_path")
    return "\n".join(r[0] for r in rows)


@pytest.fixture
def many_courses(admin_sql: Any) -> None:
    """40,000 courses, nine in ten published, created over the last months."""
    admin_sql.run(
        """
        INSERT INTO lms_course.courses (id, title, slug, status, created_at, updated_at)
        SELECT gen_random_uuid(), 'Course ' || g, 'course-' || g,
               CASE WHEN g % 10 = 0 THEN 'DRAFT' ELSE 'PUBLISHED' END,
               now() - make_interval(mins => g), now()
        FROM generate_series(1, 40000) AS g
        """
    )
    admin_sql.run("ANALYZE lms_course.courses")


# Either index serves the catalog's order; the planner picks by cost (the seed's
# courses(created_at) with an incremental sort over ties, or the partial keyset index).
CATALOG_INDEXES = ("ix_courses_published_created_at_id", "ix_courses_created_at")


def _full_sorts(plan: str) -> list[str]:
    return [
        line
        for line in plan.splitlines()
        if "Sort" in line and "->" in line and "Incremental Sort" not in line
    ]


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
def test_catalog_pages_use_an_index_at_depth(
    many_courses: None, admin_sql: Any, generic: bool
) -> None:
    deep = admin_sql.run(
        "SELECT created_at::text, id::text FROM lms_course.courses WHERE status = 'PUBLISHED' "
        "ORDER BY created_at DESC, id DESC OFFSET 30000 LIMIT 1"
    )[0]

    first = _plan(admin_sql, store.CATALOG_FIRST, {"pattern": None, "limit": 21}, generic)
    after = _plan(
        admin_sql,
        store.CATALOG_AFTER,
        {"pattern": None, "created_at": deep[0], "id": deep[1], "limit": 21},
        generic,
    )

    for plan in (first, after):
        assert "Seq Scan" not in plan, plan
        assert any(f"Index Scan Backward using {name}" in plan for name in CATALOG_INDEXES), plan
        assert not _full_sorts(plan), plan  # the index gives the order, at any depth
    # Deep pages start at the cursor inside the index rather than skipping rows to it.
    assert "Index Cond" in after and "created_at" in after.split("Index Cond")[1], after


def test_without_its_indexes_the_same_query_would_scan_and_sort_the_table(
    many_courses: None, admin_sql: Any
) -> None:
    """The control: the table is big enough that only an index keeps the page cheap."""
    admin_sql.run("BEGIN")
    try:
        for name in CATALOG_INDEXES:
            admin_sql.run(f"DROP INDEX lms_course.{name}")
        plan = _plan(admin_sql, store.CATALOG_FIRST, {"pattern": None, "limit": 21}, False)
    finally:
        admin_sql.run("ROLLBACK")
    assert "Seq Scan on courses" in plan, plan
    assert _full_sorts(plan), plan


def test_a_warm_course_page_with_its_modules_and_lessons_is_one_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    course = build_course(lessons_per_module=(2, 3))
    reader = instructor()
    path = {"courseId": course.id}
    ok(call("GET", "/courses/{courseId}", caller=reader, path_params=path))  # warm

    with counting_round_trips(monkeypatch) as trips:
        detail = ok(call("GET", "/courses/{courseId}", caller=reader, path_params=path))

    assert [len(m["lessons"]) for m in detail["modules"]] == [2, 3]
    assert trips.count == 1
