"""Counting: each event kept once and counted once, in the period it happened."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import pytest

from functions.analytics import metrics
from lms_events import assignment, enrollment
from tests.analytics.conftest import aggregates
from tests.analytics.events import World, at, bus_event


def enrolled(course: uuid.UUID, student: uuid.UUID | None = None) -> Any:
    return enrollment.EnrollmentCreated(
        enrollment_id=uuid.uuid4(), user_id=student or uuid.uuid4(), course_id=course,
        version=1, enrolled_at=at("2026-11-30T10:00:00+00:00"), reactivated=False,
    )  # fmt: skip


def graded(submission: uuid.UUID, course: uuid.UUID, version: int, score: int) -> Any:
    return assignment.SubmissionGraded(
        submission_id=submission, assignment_id=uuid.uuid4(), course_id=course, lesson_id=None,
        user_id=uuid.uuid4(), score=Decimal(score), max_score=Decimal(8), passing_score=None,
        passed=True, latest=True, version=version, graded_by=uuid.uuid4(),
        graded_at=at("2026-11-30T10:00:00+00:00"),
    )  # fmt: skip


def test_second_delivery_of_same_event_changes_nothing(analytics: Any, admin_sql: Any) -> None:
    # Given an enrollment event delivered once
    course = uuid.uuid4()
    event = bus_event(enrolled(course), at("2026-11-30T10:00:00+00:00"))
    assert analytics.deliver(event) == 1
    first = aggregates(admin_sql)
    # When it is delivered again, and again after its inbox rows were pruned
    assert analytics.deliver(event) == 0
    admin_sql.run("DELETE FROM lms_analytics.inbox")
    analytics.deliver(event)
    # Then it is kept once and counted once
    assert aggregates(admin_sql) == first
    dimension = f"course:{course}"
    assert first[(dimension, "2026-11-30", "enrollments")] == 1
    assert first[(dimension, "2026-W49", "enrollments")] == 1
    assert first[("platform", "2026-11-30", "enrollments")] == 1
    assert first[(dimension, "2026-W49", "activeLearners")] == 1
    count = admin_sql.run(
        "SELECT count(*), min(payload->>'eventId') FROM lms_analytics.event_snapshots"
    )
    assert count[0] == [1, event["detail"]["eventId"]]


@pytest.mark.parametrize(
    ("occurred", "day", "week"),
    [
        ("2026-11-30T00:00:00+00:00", "2026-11-30", "2026-W49"),
        ("2026-12-31T23:59:59+00:00", "2026-12-31", "2026-W53"),
        ("2027-01-01T00:30:00+00:00", "2027-01-01", "2026-W53"),
        ("2027-01-03T23:00:00+00:00", "2027-01-03", "2026-W53"),
        ("2027-01-04T00:00:00+00:00", "2027-01-04", "2027-W01"),
        # 23:30 in New York is the next UTC day
        ("2026-12-31T23:30:00-05:00", "2027-01-01", "2026-W53"),
        ("2025-12-29T08:00:00+00:00", "2025-12-29", "2026-W01"),
    ],
)
def test_periods_follow_occurred_at_in_utc_and_iso_weeks(
    analytics: Any, admin_sql: Any, occurred: str, day: str, week: str
) -> None:
    # Given an event that happened at ``occurred`` and arrives now
    course = uuid.uuid4()
    analytics.deliver(bus_event(enrolled(course), at(occurred)))
    # Then it is counted in the day and the ISO week it happened, not today's
    found = aggregates(admin_sql)
    assert found[(f"course:{course}", day, "enrollments")] == 1
    assert found[(f"course:{course}", week, "enrollments")] == 1
    assert {p for (_, p, _) in found} == {day, week}
    assert metrics.periods_of(at(occurred)) == (day, week)


def test_active_learners_are_distinct_students_per_period(analytics: Any, admin_sql: Any) -> None:
    # Given one student active twice on Monday and once on Tuesday, another once on Tuesday
    course, ann, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for when, who in [
        ("2026-11-30T09:00:00+00:00", ann),
        ("2026-11-30T18:00:00+00:00", ann),
        ("2026-12-01T09:00:00+00:00", ann),
        ("2026-12-01T10:00:00+00:00", bob),
    ]:
        analytics.deliver(bus_event(enrolled(course, who), at(when)))
    # Then each day and the week count each student once
    found = aggregates(admin_sql)
    dimension = f"course:{course}"
    assert found[(dimension, "2026-11-30", "activeLearners")] == 1
    assert found[(dimension, "2026-12-01", "activeLearners")] == 2
    assert found[(dimension, "2026-W49", "activeLearners")] == 2
    assert found[(dimension, "2026-W49", "enrollments")] == 4


def test_a_regrade_moves_the_grade_whatever_the_arrival_order(
    analytics: Any, admin_sql: Any
) -> None:
    # Given a submission graded on Monday (4/8) and regraded on Wednesday (6/8), the
    # regrade arriving first
    course, submission = uuid.uuid4(), uuid.uuid4()
    first = bus_event(graded(submission, course, 1, 4), at("2026-11-30T10:00:00+00:00"))
    regrade = bus_event(graded(submission, course, 2, 6), at("2026-12-02T10:00:00+00:00"))
    analytics.deliver(regrade)
    analytics.deliver(first)
    analytics.deliver(regrade)
    # Then only the regrade is in the grade sums, in Wednesday's day, and the submission was
    # graded once (on Monday)
    found = aggregates(admin_sql)
    dimension = f"course:{course}"
    assert found[(dimension, "2026-12-02", "gradeSum")] == 75
    assert found[(dimension, "2026-12-02", "gradeCount")] == 1
    assert (dimension, "2026-11-30", "gradeSum") not in found
    assert found[(dimension, "2026-W49", "gradeSum")] == 75
    assert found[(dimension, "2026-W49", "gradeCount")] == 1
    assert found[(dimension, "2026-11-30", "gradedSubmissions")] == 1
    assert (dimension, "2026-12-02", "gradedSubmissions") not in found


def test_every_event_type_is_kept_as_a_snapshot_with_its_raw_envelope(
    analytics: Any, admin_sql: Any
) -> None:
    from tests.analytics.events import EVENT_TYPES

    world = World(random.Random(7))
    sent = [bus_event(world.data(kind), at("2026-11-30T10:00:00+00:00")) for kind in EVENT_TYPES]
    for event in sent:
        analytics.deliver(event)
    rows = admin_sql.run("SELECT event_type, payload FROM lms_analytics.event_snapshots")
    kept = dict(rows)
    assert set(kept) == {kind.event_type for kind in EVENT_TYPES}
    for event in sent:
        assert kept[event["detail-type"]] == event["detail"]


def test_fields_a_newer_event_version_adds_are_kept(analytics: Any, admin_sql: Any) -> None:
    event = bus_event(enrolled(uuid.uuid4()), at("2026-11-30T10:00:00+00:00"))
    event["detail"]["data"]["somethingNew"] = {"x": 1}
    analytics.deliver(event)
    rows = admin_sql.run(
        "SELECT payload->'data'->'somethingNew' FROM lms_analytics.event_snapshots"
    )
    assert rows == [[{"x": 1}]]


def test_an_event_of_a_type_not_known_yet_is_kept_once(analytics: Any, admin_sql: Any) -> None:
    # Given an event of a service this code has never heard of
    event = {
        "source": "lms.forum",
        "detail-type": "PostCreated",
        "detail": {
            "eventId": str(uuid.uuid4()), "eventType": "PostCreated", "eventVersion": 1,
            "occurredAt": "2026-11-30T10:00:00Z", "aggregateId": "p1", "correlationId": None,
            "data": {"postId": "p1", "courseId": str(uuid.uuid4())},
        },
    }  # fmt: skip
    # When it arrives twice
    assert analytics.deliver(event) == 1
    assert analytics.deliver(event) == 0
    # Then it is kept once, as it came, and counts in nothing
    rows = admin_sql.run("SELECT event_type, payload FROM lms_analytics.event_snapshots")
    assert rows == [["PostCreated", event["detail"]]]
    assert aggregates(admin_sql) == {}


def test_what_is_not_an_event_envelope_is_ignored(analytics: Any, admin_sql: Any) -> None:
    task_like = {"source": "lms.enrollment", "detail-type": "enrollment.recompute-progress",
                 "detail": {"lmsTask": {"id": str(uuid.uuid4())}}}  # fmt: skip
    assert analytics.deliver(task_like) == 0
    assert admin_sql.run("SELECT count(*) FROM lms_analytics.event_snapshots") == [[0]]
