"""Grades complete lessons: the Enrollment consumer fed the Assignment service's real
``SubmissionGraded`` events (made by its routes, read back from its outbox as they went to
the bus), delivered twice and in shuffled orders.

The Assignment service learns the course and the enrollments from the Course and Enrollment
events read back the same way; the Enrollment service from the bus (``course_feed``).
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from functions.assignment import consumer as assignment_consumer
from functions.enrollment import consumer as enrollment_consumer
from tests.course.builders import BuiltCourse, build_course, ok, student
from tests.enrollment.conftest import CourseFeed
from tests.support import call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def outbox_events(admin_sql: Any, schema: str, event_type: str | None = None) -> list[Any]:
    """A service's events as EventBridge delivers them, in the order they were made."""
    rows = admin_sql.run(
        f"SELECT id::text, source, event_type, detail::text FROM {schema}.outbox "
        "WHERE destination = 'bus' AND (CAST(:t AS text) IS NULL OR event_type = :t) "
        "ORDER BY occurred_at",
        t=event_type,
    )
    return [
        {"version": "0", "id": i, "source": s, "detail-type": t, "detail": json.loads(d)}
        for i, s, t, d in rows
    ]


def tell_assignment_service(admin_sql: Any) -> None:
    """Every Course and Enrollment event so far, to the Assignment consumer (repeats are
    dropped by its inbox)."""
    for schema in ("lms_course", "lms_enrollment"):
        for event in outbox_events(admin_sql, schema):
            assignment_consumer.consumer.deliver(event)


class Setting:
    """A published course both services know, and a way to enroll, submit and grade."""

    def __init__(self, feed: CourseFeed, admin_sql: Any, lessons: tuple[int, ...] = (2, 1)):
        self.course: BuiltCourse = build_course(lessons_per_module=lessons)
        feed.pump()
        self.admin_sql = admin_sql
        tell_assignment_service(admin_sql)

    def enroll(self) -> tuple[dict[str, Any], str]:
        learner = student()
        enrollment = ok(
            call(
                "POST",
                "/courses/{courseId}/enrollments",
                caller=learner,
                path_params={"courseId": self.course.id},
            ),
            201,
        )
        tell_assignment_service(self.admin_sql)
        return learner, enrollment["id"]

    def assignment(self, **body: Any) -> str:
        reply = call(
            "POST",
            "/courses/{courseId}/assignments",
            caller=self.course.owner,
            path_params={"courseId": self.course.id},
            body={"title": "Essay", "maxScore": 100, **body},
        )
        return str(ok(reply, 201)["id"])

    def submit(self, learner: dict[str, Any], assignment_id: str) -> str:
        reply = call(
            "POST",
            "/assignments/{assignmentId}/submissions",
            caller=learner,
            path_params={"assignmentId": assignment_id},
            body={"content": {"text": "my work"}},
        )
        return str(ok(reply, 201)["id"])

    def grade(self, submission_id: str, score: Any) -> None:
        ok(
            call(
                "PUT",
                "/submissions/{submissionId}/grade",
                caller=self.course.owner,
                path_params={"submissionId": submission_id},
                body={"score": score},
            )
        )

    def grades_of(self, submission_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in outbox_events(self.admin_sql, "lms_assignment", "SubmissionGraded")
            if e["detail"]["data"]["submissionId"] == submission_id
        ]

    def lesson_completions(self, enrollment_id: str) -> list[str]:
        return [
            e["detail"]["data"]["lessonId"]
            for e in outbox_events(self.admin_sql, "lms_enrollment", "LessonCompleted")
            if e["detail"]["data"]["enrollmentId"] == enrollment_id
        ]

    def enrollment(self, learner: dict[str, Any], enrollment_id: str) -> Any:
        return ok(
            call(
                "GET",
                "/enrollments/{enrollmentId}",
                caller=learner,
                path_params={"enrollmentId": enrollment_id},
            )
        )


def deliver(events: list[dict[str, Any]]) -> None:
    for event in events:
        enrollment_consumer.consumer.deliver(event)


def twice_shuffled(events: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    doubled = events + events
    random.Random(seed).shuffle(doubled)
    return doubled


@pytest.fixture
def setting(course_feed: CourseFeed, admin_sql: Any) -> Setting:
    return Setting(course_feed, admin_sql)


@pytest.mark.parametrize("seed", range(4))
def test_failing_then_passing_regrades_in_any_order_and_twice_complete_the_lesson_once(
    setting: Setting, seed: int
) -> None:
    lesson = setting.course.lesson_ids[1]
    assignment = setting.assignment(lessonId=lesson, passingScore=60)
    learner, enrollment_id = setting.enroll()
    submission = setting.submit(learner, assignment)
    for score in (40, 70, 85):  # v1 fails, v2 and v3 pass
        setting.grade(submission, score)
    grades = setting.grades_of(submission)
    assert [g["detail"]["data"]["passed"] for g in grades] == [False, True, True]

    deliver(twice_shuffled(grades, seed))

    assert setting.lesson_completions(enrollment_id) == [lesson]
    progress = setting.enrollment(learner, enrollment_id)
    assert progress["progressPct"] == 33.33
    done = [p["lessonId"] for p in progress["lessons"] if p["completedAt"]]
    assert done == [lesson]


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "newest-first"])
def test_a_later_failing_regrade_does_not_uncomplete_the_lesson_whatever_the_order(
    setting: Setting, reverse: bool
) -> None:
    lesson = setting.course.lesson_ids[0]
    assignment = setting.assignment(lessonId=lesson, passingScore=60)
    learner, enrollment_id = setting.enroll()
    submission = setting.submit(learner, assignment)
    setting.grade(submission, 90)  # v1 passes
    setting.grade(submission, 10)  # v2 fails
    grades = setting.grades_of(submission)

    deliver(list(reversed(grades)) if reverse else grades)

    assert setting.lesson_completions(enrollment_id) == [lesson]


def test_failing_grades_and_grades_that_do_not_count_complete_nothing(
    setting: Setting,
) -> None:
    lessons = setting.course.lesson_ids
    failing = setting.assignment(lessonId=lessons[0], passingScore=60)
    superseded = setting.assignment(lessonId=lessons[1], passingScore=60)
    loose = setting.assignment(passingScore=60)  # attached to no lesson
    learner, enrollment_id = setting.enroll()
    setting.grade(setting.submit(learner, failing), 59.99)
    older = setting.submit(learner, superseded)
    setting.submit(learner, superseded)  # the latest: the older one no longer counts
    setting.grade(older, 100)
    setting.grade(setting.submit(learner, loose), 100)

    deliver(outbox_events(setting.admin_sql, "lms_assignment", "SubmissionGraded"))

    assert setting.lesson_completions(enrollment_id) == []
    assert setting.enrollment(learner, enrollment_id)["progressPct"] == 0


def test_without_a_passing_score_any_grade_completes_the_lesson(setting: Setting) -> None:
    lesson = setting.course.lesson_ids[2]
    assignment = setting.assignment(lessonId=lesson)
    learner, enrollment_id = setting.enroll()
    setting.grade(setting.submit(learner, assignment), 0)

    deliver(outbox_events(setting.admin_sql, "lms_assignment", "SubmissionGraded"))

    assert setting.lesson_completions(enrollment_id) == [lesson]


def test_a_grade_on_the_last_lesson_completes_the_enrollment(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    setting = Setting(course_feed, admin_sql, lessons=(1,))
    assignment = setting.assignment(lessonId=setting.course.lesson_ids[0])
    learner, enrollment_id = setting.enroll()
    setting.grade(setting.submit(learner, assignment), 50)

    deliver(outbox_events(admin_sql, "lms_assignment", "SubmissionGraded"))

    progress = setting.enrollment(learner, enrollment_id)
    assert (progress["status"], progress["progressPct"]) == ("COMPLETED", 100)
    completed = outbox_events(admin_sql, "lms_enrollment", "EnrollmentCompleted")
    assert [e["detail"]["data"]["enrollmentId"] for e in completed] == [enrollment_id]


def test_a_grade_that_arrives_after_cancelling_counts_once_enrolled_again(
    setting: Setting,
) -> None:
    lesson = setting.course.lesson_ids[0]
    assignment = setting.assignment(lessonId=lesson)
    learner, enrollment_id = setting.enroll()
    submission = setting.submit(learner, assignment)
    ok(
        call(
            "POST",
            "/enrollments/{enrollmentId}/cancel",
            caller=learner,
            path_params={"enrollmentId": enrollment_id},
        )
    )
    setting.grade(submission, 100)  # work handed in before cancelling is still graded

    deliver(outbox_events(setting.admin_sql, "lms_assignment", "SubmissionGraded"))
    cancelled = setting.enrollment(learner, enrollment_id)
    again = ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": setting.course.id},
        ),
        201,
    )

    assert (cancelled["status"], cancelled["progressPct"]) == ("CANCELLED", 0)
    assert (again["status"], again["progressPct"]) == ("ACTIVE", 33.33)


def test_a_grade_that_arrives_before_its_lesson_counts_when_the_lesson_does(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    setting = Setting(course_feed, admin_sql)
    owner, course = setting.course.owner, setting.course
    added = ok(
        call(
            "POST",
            "/courses/{courseId}/modules/{moduleId}/lessons",
            caller=owner,
            path_params={"courseId": course.id, "moduleId": course.module_ids[0]},
            body={"title": "New", "type": "text"},
        ),
        201,
    )
    learner, enrollment_id = setting.enroll()  # the Assignment service learns the lesson here
    assignment = setting.assignment(lessonId=added["id"])
    setting.grade(setting.submit(learner, assignment), 100)

    # The grade reaches Enrollment before the Course event that adds the lesson.
    deliver(outbox_events(admin_sql, "lms_assignment", "SubmissionGraded"))
    before = setting.enrollment(learner, enrollment_id)
    course_feed.pump()  # LessonAdded, and the recompute it starts
    after = setting.enrollment(learner, enrollment_id)

    assert before["progressPct"] == 0
    assert after["progressPct"] == 25  # one of four lessons


def test_grades_travel_over_the_bus_to_the_enrollment_consumer(
    course_feed: CourseFeed, setting: Setting
) -> None:
    lesson = setting.course.lesson_ids[0]
    assignment = setting.assignment(lessonId=lesson)
    learner, enrollment_id = setting.enroll()
    setting.grade(setting.submit(learner, assignment), 100)

    course_feed.pump()  # the Enrollment service's own rule brings SubmissionGraded

    assert setting.enrollment(learner, enrollment_id)["progressPct"] == 33.33
