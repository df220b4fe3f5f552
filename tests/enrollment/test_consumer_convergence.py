"""The Enrollment consumer ends in the same state whatever order Course events arrive in
and however often: each event twice, shuffled, equals each once in order (once the
progress recomputes the events start, which run as tasks on the service's own queue, are
done).

The events are real: produced by the Course use cases through their handlers and read
back from the Course outbox exactly as they went to the bus.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from functions.enrollment import consumer
from tests.course.builders import add_lesson, build_course, instructor, ok, user_id
from tests.enrollment.conftest import CourseFeed, sqs_batch
from tests.support import call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

ENROLLMENT_TABLES = (
    "enrollments",
    "lesson_progress",
    "courses",
    "course_lessons",
    "course_instructors",
    "inbox",
    "outbox",
    "outline_recomputes",
)


def course_history() -> tuple[Any, list[str], str]:
    """A course through a life of edits; the lesson ids it ever had."""
    course = build_course(lessons_per_module=(2, 2))  # created, 2 modules, 4 lessons, published
    owner, params = course.owner, {"courseId": course.id}
    helper = instructor()
    teach = {**params, "userId": str(user_id(helper))}
    ok(call("PUT", "/courses/{courseId}/instructors/{userId}", caller=owner, path_params=teach))
    bonus = add_lesson(owner, course.id, course.module_ids[1], "Bonus", position=0)
    ok(
        call(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=owner,
            path_params={**params, "lessonId": course.lesson_ids[1]},
        )
    )
    ok(
        call(
            "POST",
            "/courses/{courseId}/lessons/{lessonId}/move",
            caller=owner,
            path_params={**params, "lessonId": course.lesson_ids[3]},
            body={"moduleId": course.module_ids[0], "position": 0},
        )
    )
    ok(
        call(
            "PATCH",
            "/courses/{courseId}",
            caller=owner,
            path_params=params,
            body={"title": "Intro to Testing, 2nd edition"},
        )
    )
    ok(call("POST", "/courses/{courseId}/archive", caller=owner, path_params=params))
    # The owner hands the course to the helper, who then takes the old owner off it
    ok(
        call(
            "PUT",
            "/courses/{courseId}/owner",
            caller=owner,
            path_params=params,
            body={"userId": str(user_id(helper))},
        )
    )
    ok(
        call(
            "DELETE",
            "/courses/{courseId}/instructors/{userId}",
            caller=helper,
            path_params={**params, "userId": str(user_id(owner))},
        )
    )
    ok(call("POST", "/courses/{courseId}/publish", caller=helper, path_params=params))
    late = add_lesson(helper, course.id, course.module_ids[0], "Late addition")
    return course, [*course.lesson_ids, bonus["id"], late["id"]], str(user_id(helper))


def produced_events(admin_sql: Any) -> list[dict[str, Any]]:
    """The Course service's events as EventBridge delivers them, in the order they were made."""
    rows = admin_sql.run(
        "SELECT id::text, source, event_type, detail::text FROM lms_course.outbox "
        "ORDER BY (detail -> 'data' ->> 'version')::int, occurred_at"
    )
    return [
        {
            "version": "0",
            "id": event_id,
            "source": source,
            "detail-type": kind,
            "detail": json.loads(detail),
        }
        for event_id, source, kind, detail in rows
    ]


def reset_enrollment_side(admin_sql: Any, course_id: str, lessons: list[str]) -> None:
    """Empty Enrollment tables, then the same three enrollments before every run."""
    admin_sql.run(
        "TRUNCATE " + ", ".join(f"lms_enrollment.{t}" for t in ENROLLMENT_TABLES) + " CASCADE"
    )
    done_by = {
        "ACTIVE": [lessons[0]],  # one lesson that stays
        "COMPLETED": lessons[:4],  # everything the course had when published
        "CANCELLED": [lessons[1]],  # only a lesson that is removed later
    }
    for status, done in done_by.items():
        enrollment_id = str(uuid.uuid4())
        admin_sql.run(
            "INSERT INTO lms_enrollment.enrollments (id, user_id, course_id, status, "
            "progress_pct, completed_at) VALUES (CAST(:id AS uuid), gen_random_uuid(), "
            "CAST(:course AS uuid), :status, 0, CASE WHEN :status = 'COMPLETED' THEN now() END)",
            id=enrollment_id,
            course=course_id,
            status=status,
        )
        for lesson in done:
            admin_sql.run(
                "INSERT INTO lms_enrollment.lesson_progress (id, enrollment_id, lesson_id, "
                "completed_at) VALUES (gen_random_uuid(), CAST(:e AS uuid), CAST(:l AS uuid), "
                "now())",
                e=enrollment_id,
                l=lesson,
            )


def state(admin_sql: Any) -> dict[str, Any]:
    """Everything the consumer decides, without wall-clock times."""

    def rows(sql: str) -> list[list[Any]]:
        return [list(r) for r in admin_sql.run(sql)]

    return {
        "courses": rows(
            "SELECT id::text, status, title, slug, version, outline_version "
            "FROM lms_enrollment.courses ORDER BY id"
        ),
        "lessons": rows(
            "SELECT course_id::text, lesson_id::text, position FROM lms_enrollment.course_lessons "
            "ORDER BY course_id, position"
        ),
        "instructors": rows(
            "SELECT course_id::text, user_id::text, active, version "
            "FROM lms_enrollment.course_instructors ORDER BY course_id, user_id"
        ),
        "enrollments": rows(
            "SELECT status, progress_pct::text, completed_at IS NULL "
            "FROM lms_enrollment.enrollments ORDER BY status, progress_pct"
        ),
        "applied": rows("SELECT count(*) FROM lms_enrollment.inbox"),
    }


def test_each_event_twice_in_shuffled_orders_ends_as_once_in_order(
    admin_sql: Any, own_queue: CourseFeed
) -> None:
    course, lessons, helper = course_history()
    events = produced_events(admin_sql)
    kinds = {e["detail-type"] for e in events}
    assert {
        "CourseCreated",
        "CoursePublished",
        "CourseArchived",
        "CourseUpdated",
        "LessonAdded",
        "LessonRemoved",
        "LessonsReordered",
        "InstructorAssigned",
        "InstructorRemoved",
    } <= kinds

    reset_enrollment_side(admin_sql, course.id, lessons)
    for event in events:
        consumer.consumer.deliver(event)
    own_queue.pump()
    in_order = state(admin_sql)

    # What in-order delivery decided, spelled out: the course is published again with its
    # four remaining lessons, the helper alone teaches it, and progress follows the rows.
    assert in_order["courses"][0][1:3] == ["PUBLISHED", "Intro to Testing, 2nd edition"]
    assert len(in_order["lessons"]) == 5
    assert lessons[1] not in [r[1] for r in in_order["lessons"]]
    assert {r[1]: r[2] for r in in_order["instructors"]} == {
        str(user_id(course.owner)): False,
        helper: True,
    }
    assert sorted(in_order["enrollments"]) == sorted(
        [
            ["ACTIVE", "20.00", True],  # 1 of 5
            ["ACTIVE", "60.00", True],  # the completed one: 3 of 5 remain done -> active again
            ["CANCELLED", "0.00", True],
        ]  # its only lesson was removed
    )

    for seed in range(4):
        shuffled = events * 2
        random.Random(seed).shuffle(shuffled)
        reset_enrollment_side(admin_sql, course.id, lessons)
        # In SQS batches of up to ten, through the Lambda handler.
        for start in range(0, len(shuffled), 10):
            batch = shuffled[start : start + 10]
            messages = [
                {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": json.dumps(e)}
                for e in batch
            ]
            result = consumer.handler(sqs_batch(messages, "arn:aws:sqs:us-east-1:0:q"), None)
            assert result["batchItemFailures"] == []
        own_queue.pump()
        assert state(admin_sql) == in_order, f"seed {seed}"

    reset_enrollment_side(admin_sql, course.id, lessons)
    for event in reversed(events):
        consumer.consumer.deliver(event)
    own_queue.pump()
    assert state(admin_sql) == in_order


def test_a_late_lesson_added_does_not_bring_back_a_removed_lesson(admin_sql: Any) -> None:
    course = build_course(lessons_per_module=(1,))
    extra = add_lesson(course.owner, course.id, course.module_ids[0], "Short-lived")
    ok(
        call(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=course.owner,
            path_params={"courseId": course.id, "lessonId": extra["id"]},
        )
    )
    events = produced_events(admin_sql)
    added = next(
        e
        for e in events
        if e["detail-type"] == "LessonAdded" and e["detail"]["data"]["lessonId"] == extra["id"]
    )
    removed = next(e for e in events if e["detail-type"] == "LessonRemoved")
    admin_sql.run("TRUNCATE " + ", ".join(f"lms_enrollment.{t}" for t in ENROLLMENT_TABLES))

    assert consumer.consumer.deliver(removed) == 1
    assert consumer.consumer.deliver(added) == 1  # applied: it is simply older
    assert consumer.consumer.deliver(added) == 0  # the inbox drops the repeat

    kept = admin_sql.run("SELECT lesson_id::text FROM lms_enrollment.course_lessons")
    assert kept == [[course.lesson_ids[0]]]
