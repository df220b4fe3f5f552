"""Grading through the real handlers: one grade per submission, regrades as new versions,
scores within the assignment's, and what the student sees."""

from __future__ import annotations

from typing import Any

import pytest

from tests.assignment.builders import (
    classroom,
    get_submission,
    grade,
    new_assignment,
    submit,
    unknown,
)
from tests.assignment.conftest import Feeds
from tests.assignment.test_assignments import observed
from tests.course.builders import admin, instructor, ok
from tests.support import call, row_counts, scalar

pytestmark = [pytest.mark.integration]


def test_a_grade_then_a_regrade_by_another_teacher_is_a_newer_version(
    feeds: Feeds, event_log: Any, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    helper = instructor()
    ok(
        call(
            "PUT",
            "/courses/{courseId}/instructors/{userId}",
            caller=room.teacher,
            path_params={"courseId": room.id, "userId": helper["sub"]},
        )
    )
    feeds.pump()
    made = new_assignment(room, lessonId=room.lesson_ids[0], maxScore=20, passingScore=12)
    submission = ok(submit(room.enrolled, made["id"]), 201)

    first = ok(grade(room.teacher, submission["id"], 11.5, "Close."))
    second = ok(grade(helper, submission["id"], "12", "On reflection, enough."))
    repeat = ok(grade(helper, submission["id"], 12.00, "On reflection, enough."))

    assert (first["score"], first["passed"], first["version"]) == ("11.50", False, 1)
    assert first["gradedBy"] == room.teacher["sub"]
    assert (second["score"], second["passed"], second["version"]) == ("12.00", True, 2)
    assert second["gradedBy"] == helper["sub"]
    assert second["gradedAt"] > first["gradedAt"]
    assert repeat == second  # the same grade again changes nothing
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.grades") == 1
    observed(event_log, SubmissionGraded=2)
    graded = [e["detail"]["data"] for e in event_log.of_type("SubmissionGraded")]
    assert len(graded) == 2
    assert [(g["version"], g["score"], g["passed"]) for g in graded] == [
        (1, "11.50", False),
        (2, "12.00", True),
    ]
    assert graded[1] | {"gradedAt": None} == {
        "submissionId": submission["id"],
        "assignmentId": made["id"],
        "courseId": room.id,
        "lessonId": room.lesson_ids[0],
        "userId": room.enrolled["sub"],
        "score": "12.00",
        "maxScore": "20.00",
        "passingScore": "12.00",
        "passed": True,
        "latest": True,
        "version": 2,
        "gradedBy": helper["sub"],
        "gradedAt": None,
    }


def test_without_a_passing_score_any_grade_passes(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room, maxScore=10)
    submission = ok(submit(room.enrolled, made["id"]), 201)
    assert ok(grade(room.teacher, submission["id"], 0))["passed"] is True


@pytest.mark.parametrize(
    ("score", "field_type"),
    [
        (10.01, "less_than_equal"),
        ("11", "less_than_equal"),
        (-1, "greater_than_equal"),
        (1.005, "decimal_max_places"),
        ("ten", "decimal_parsing"),
        (None, "decimal_type"),
    ],
)
def test_a_score_outside_zero_to_the_maximum_is_422_and_changes_nothing(
    feeds: Feeds, admin_sql: Any, score: Any, field_type: str
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room, maxScore=10)
    submission = ok(submit(room.enrolled, made["id"]), 201)
    before = row_counts(admin_sql, "lms_assignment.grades", "lms_assignment.outbox")

    reply = grade(room.teacher, submission["id"], score)

    assert reply.status == 422, reply.body
    [error] = reply.body["errors"]
    assert (error["location"], error["type"]) == (["body", "score"], field_type)
    assert row_counts(admin_sql, "lms_assignment.grades", "lms_assignment.outbox") == before
    assert ok(get_submission(room.enrolled, submission["id"]))["status"] == "SUBMITTED"


def test_the_student_sees_grade_and_feedback_only_once_graded(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    submission = ok(submit(room.enrolled, made["id"]), 201)

    before = ok(get_submission(room.enrolled, submission["id"]))
    ok(grade(room.teacher, submission["id"], 75, "Good work."))
    after = ok(get_submission(room.enrolled, submission["id"]))
    listed = ok(call("GET", "/me/submissions", caller=room.enrolled))["items"]

    assert (before["status"], before["grade"]) == ("SUBMITTED", None)
    assert after["status"] == "GRADED"
    assert (after["grade"]["score"], after["grade"]["feedback"]) == ("75.00", "Good work.")
    assert listed[0]["grade"]["score"] == "75.00"


def test_an_earlier_submission_may_be_graded_and_says_it_is_not_the_latest(
    feeds: Feeds, event_log: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    older = ok(submit(room.enrolled, made["id"], "v1"), 201)
    ok(submit(room.enrolled, made["id"], "v2"), 201)

    ok(grade(room.teacher, older["id"], 30))

    observed(event_log, SubmissionGraded=1)
    [graded] = event_log.of_type("SubmissionGraded")
    assert graded["detail"]["data"]["latest"] is False


def test_who_grades_students_403_others_404(feeds: Feeds, admin_sql: Any) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    submission = ok(submit(room.enrolled, made["id"]), 201)["id"]

    assert grade(room.enrolled, submission, 100).status == 403  # their own
    for outsider in (room.cancelled, room.outsider, room.stranger):
        assert grade(outsider, submission, 100).status == 404
    assert grade(room.teacher, unknown(), 1).status == 404
    assert grade(None, submission, 1).status == 401
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.grades") == 0
    assert ok(grade(admin(), submission, 1))["version"] == 1
