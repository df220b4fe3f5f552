"""The Analytics service: every event of every service counted once, per course and for the
whole platform, per day and per ISO week; the counts rebuildable from the events kept."""

from __future__ import annotations

from lms_events import assignment, content, course, enrollment, payment, user
from lms_platform.service import Job, Route, Service

# A series' span, beyond the documented form of its parameters (a 400 says which).
SPAN_RULES = (
    "an unknown metric (400, listing the known ones)",
    "a day that does not exist, or `from` after `to` (400)",
    "a span of more than 366 days or 104 weeks (400)",
)

SERVICE = Service(
    name="analytics",
    routes=(
        Route(
            "GET",
            "/analytics/courses/{courseId}",
            "course_metrics",
            summary="A course's metric per day or week, dense (its instructors, admins)",
            rules=SPAN_RULES,
        ),
        Route(
            "GET",
            "/analytics/platform",
            "platform_metrics",
            summary="A platform-wide metric per day or week, dense (admins)",
            errors=(403,),
            rules=SPAN_RULES,
        ),
    ),
    # One rule on every ``lms.`` source: each event is kept as a snapshot, whatever its type.
    consumes_all=True,
    consumes=(
        *user.EVENTS,
        *course.EVENTS,
        *enrollment.EVENTS,
        *content.EVENTS,
        *assignment.EVENTS,
        *payment.EVENTS,
    ),
    # The aggregates recomputed from the snapshots, a day at a time (``rebuild``).
    tasks=("analytics.rebuild",),
    jobs=(
        Job(
            "snapshot_partitions",
            every_minutes=24 * 60,
            summary="Create the snapshots' monthly partitions ahead; drop those past retention",
        ),
    ),
)
