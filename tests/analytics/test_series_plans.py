"""The series queries read a few index entries per period at depth: a year of daily and two
years of weekly aggregates for 10,000 courses and the platform (EXPLAIN of the store's own
statement, custom and generic plans, and its run time)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from functions.analytics import metrics, store
from lms_platform.db import open_connection, params_from_url

pytestmark = [pytest.mark.integration]

COURSES = 10_000
TARGET = uuid.UUID("00000000-0000-4000-8000-000000005000")


@pytest.fixture(scope="module")
def sql(platform_env: dict[str, str], admin_url: str) -> Iterator[Any]:
    """An admin connection over 10,000 courses x 365 days (and 104 weeks) of one metric,
    and the platform's, ~4.7 million aggregates."""
    # Generating millions of rows takes longer than a request's socket timeout.
    connection = open_connection(params_from_url(admin_url), socket_timeout=300)
    connection.run("TRUNCATE lms_analytics.aggregates")
    # Not written to the WAL while the test fills it (the table is empty: no rewrite).
    connection.run("ALTER TABLE lms_analytics.aggregates SET UNLOGGED")
    connection.run("SET work_mem = '256MB'")
    # In index order, with ids that only grow: every index is appended to at its right
    # edge rather than written all over (minutes become seconds).
    connection.run(
        """
        INSERT INTO lms_analytics.aggregates (id, dimension, period, metric_name, value)
        SELECT CAST(lpad(to_hex(row_number() OVER ()), 32, '0') AS uuid), dimension, period,
               'enrollments', value
        FROM (
          SELECT 'course:' || CAST(md5('course' || c) AS uuid) AS dimension, p.period,
                 c % 7 AS value
          FROM generate_series(1, :courses) AS c,
               (SELECT to_char(d, 'YYYY-MM-DD') AS period
                FROM generate_series(DATE '2026-01-01', DATE '2026-12-31', interval '1 day') AS d
                UNION ALL
                SELECT to_char(d, 'IYYY-"W"IW')
                FROM generate_series(DATE '2025-01-06', DATE '2026-12-28', interval '1 week') AS d)
               AS p
          ORDER BY 1, 2
        ) AS rows
        """,
        courses=COURSES - 1,
    )
    connection.run(
        """
        INSERT INTO lms_analytics.aggregates (dimension, period, metric_name, value)
        SELECT :dimension, to_char(d, 'YYYY-MM-DD'), m, 1
        FROM generate_series(DATE '2026-01-01', DATE '2026-12-31', interval '1 day') AS d,
             unnest(ARRAY['enrollments', 'activeLearners']) AS m
        """,
        dimension=metrics.course_dimension(TARGET),
    )
    connection.run("ANALYZE lms_analytics.aggregates")
    yield connection
    connection.run("TRUNCATE lms_analytics.aggregates")
    connection.run("ALTER TABLE lms_analytics.aggregates SET LOGGED")
    connection.close()


def _plan(sql: Any, params: dict[str, Any], generic: bool) -> str:
    sql.run("SET search_path = lms_analytics")
    sql.run(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    try:
        rows = sql.run("EXPLAIN " + store.SERIES, **params)
    finally:
        sql.run("RESET plan_cache_mode")
        sql.run("RESET search_path")
    return "\n".join(r[0] for r in rows)


INDEXES = ("ix_aggregates_dimension_period", "uq_aggregates_dimension_period_metric")
SHAPES = {
    "a course's year of days": (
        metrics.course_dimension(TARGET),
        metrics.day_series(date(2026, 1, 1), date(2026, 12, 31)),
    ),
    "a course's 104 weeks": (
        metrics.course_dimension(uuid.UUID("6b1e7c1a-0000-4000-8000-000000000000")),
        metrics.week_series(date(2025, 1, 6), date(2026, 12, 28)),
    ),
}


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_series_is_read_from_the_unique_index_not_a_scan(
    sql: Any, shape: str, generic: bool
) -> None:
    dimension, periods = SHAPES[shape]
    plan = _plan(
        sql, {"dimension": dimension, "metric": "enrollments", "periods": periods}, generic
    )
    # The course's own rows, found by the seed's index on (dimension, period) or the unique
    # one on (dimension, period, metric_name); never the table read through.
    assert "Seq Scan on aggregates" not in plan, plan
    assert re.search(r"Index Cond: \(+dimension = ", plan), plan
    assert any(name in plan for name in INDEXES), plan


def test_a_year_of_days_answers_in_milliseconds_at_depth(sql: Any) -> None:
    count = sql.run("SELECT count(*) FROM lms_analytics.aggregates")[0][0]
    assert count > 4_000_000
    dimension, periods = SHAPES["a course's year of days"]
    sql.run("SET search_path = lms_analytics")
    try:
        params = {"dimension": dimension, "metric": "enrollments", "periods": periods}
        sql.run(store.SERIES, **params)  # warm
        started = time.perf_counter()
        rows = sql.run(store.SERIES, **params)
        elapsed = time.perf_counter() - started
    finally:
        sql.run("RESET search_path")
    assert len(rows) == 366 - 1 and all(r[1] == 1 for r in rows)
    assert elapsed < 0.5, elapsed
