"""End to end, in process: a course's story told by the real routes of every service, its
events carried to every consumer as the bus would (``deliver``), and then the numbers the
instructor and an administrator read from Analytics.

A student registers and enrolls; the first lesson's quiz is passed (which completes the
lesson), the second lesson's assignment submitted and graded 8/10 (which completes the
lesson, and so the course); the student pays a 19.90 USD invoice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tests.content.conftest import (
    QUESTIONS,
    answers_to,
    attempt,
    create_item,
    enroll,
    publish,
    put_questions,
)
from tests.course.builders import admin, build_course, instructor, ok
from tests.payment.conftest import Gateway, create_invoice, create_plan, pay
from tests.support import as_caller, call


def series(caller: Any, path: str, **query: str) -> dict[str, int | str]:
    """Today's value of each asked metric."""
    today = datetime.now(UTC).date().isoformat()
    names, course = query.pop("metrics").split(","), query.pop("course", None)
    found = {}
    for metric in names:
        reply = call("GET", path, caller=caller,
                     query={"metric": metric, "from": today, "to": today, **query},
                     path_params={"courseId": course} if course else None)  # fmt: skip
        body = ok(reply)
        found[metric] = body["points"][0]["value"]
    return found


def test_the_instructor_and_an_admin_read_the_courses_story(
    deliver: Any, content_bucket: str, gateway: Gateway
) -> None:
    # A student registers (UserRegistered) and enrolls in a published two-lesson course
    course = build_course(lessons_per_module=(2,))
    email = f"story-{uuid.uuid4().hex[:8]}@example.com"
    account = {"email": email, "password": "correct horse battery", "displayName": "Story"}
    registered = ok(call("POST", "/auth/register", body=account), 201)
    me = as_caller(registered["id"], "STUDENT", email=email)
    deliver()
    enroll(me, course.id)
    deliver()
    first, second = course.lesson_ids

    # The first lesson's quiz, passed
    quiz = ok(create_item(course.owner, course.id, first, "quiz"), 201)
    questions = ok(put_questions(course.owner, quiz["id"]))
    ok(publish(course.owner, quiz["id"], questions["versionId"]))
    ok(attempt(me, quiz["id"], answers_to(questions, len(QUESTIONS))), 201)
    deliver()

    # The second lesson's assignment, submitted and graded 8/10
    made = ok(call("POST", "/courses/{courseId}/assignments", caller=course.owner,
                   path_params={"courseId": course.id},
                   body={"title": "Essay", "maxScore": 10, "passingScore": 5,
                         "lessonId": second}), 201)  # fmt: skip
    deliver()
    submission = ok(call("POST", "/assignments/{assignmentId}/submissions", caller=me,
                         path_params={"assignmentId": made["id"]},
                         body={"content": {"text": "mine"}}), 201)  # fmt: skip
    deliver()
    ok(call("PUT", "/submissions/{submissionId}/grade", caller=course.owner,
            path_params={"submissionId": submission["id"]}, body={"score": 8}))  # fmt: skip
    for _ in range(3):  # the grade completes the lesson, which completes the course
        deliver()

    # A paid invoice
    invoice = create_invoice(me, create_plan("19.90", "USD", "month")["id"])
    ok(pay(me, invoice["id"], "pm_card_visa"), 201)
    deliver()

    # Then the instructor reads today's numbers of the course
    course_path = "/analytics/courses/{courseId}"
    assert series(course.owner, course_path, course=course.id, metrics=(
        "enrollments,lessonsCompleted,completions,activeLearners,quizAttempts,quizPasses,"
        "submissions,lateSubmissions,gradedSubmissions,gradeSum,gradeCount,cancellations"
    )) == {
        "enrollments": 1, "lessonsCompleted": 2, "completions": 1, "activeLearners": 1,
        "quizAttempts": 1, "quizPasses": 1, "submissions": 1, "lateSubmissions": 0,
        "gradedSubmissions": 1, "gradeSum": "80.0000", "gradeCount": 1, "cancellations": 0,
    }  # fmt: skip
    # And an admin the platform's
    platform = series(admin(), "/analytics/platform",
                      metrics="registrations,enrollments,paidInvoices")  # fmt: skip
    assert platform == {"registrations": 1, "enrollments": 1, "paidInvoices": 1}
    revenue = series(admin(), "/analytics/platform", metrics="revenue", currency="USD")
    assert revenue == {"revenue": "19.90"}
    # And another instructor sees nothing of the course
    other = call("GET", course_path, caller=instructor(), path_params={"courseId": course.id},
                 query={"metric": "enrollments"})  # fmt: skip
    assert other.status == 404
