"""A course from creation to a student's completion, over HTTP against ``lms run``.

An instructor (made by an administrator from ``lms create-admin``) creates a course with
two modules and three lessons and publishes it; the Course events reach Enrollment over
bus -> rule -> queue -> consumer, so the student's enrollment is retried until the course
is known there; the student completes the lessons and progress goes 0 -> 33.33 -> 66.67
-> 100, COMPLETED; the bus carried every step.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.test_user_journey import (  # the runtime fixture and its HTTP helpers
    PASSWORD,
    Reply,
    Runtime,
    _aws,
    _login,
    http,
    runtime,
)

pytestmark = pytest.mark.e2e

__all__ = ["runtime"]  # a fixture this module uses, not an unused import

CONSISTENCY_TIMEOUT = 30.0


def eventually(attempt: Callable[[], Reply], done: Callable[[Reply], bool]) -> Reply:
    """Repeat ``attempt`` until ``done`` says so: Enrollment learns of courses from events."""
    deadline = time.monotonic() + CONSISTENCY_TIMEOUT
    while True:
        reply = attempt()
        if done(reply) or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


class Tap:
    """A queue of the test's own on the runtime's bus, for Course and Enrollment events."""

    def __init__(self, rt: Runtime) -> None:
        name = f"e2e-course-journey-{uuid.uuid4().hex[:6]}"
        events, self.sqs = _aws(rt, "events"), _aws(rt, "sqs")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=name,
            EventBusName="lms",
            EventPattern=json.dumps({"source": ["lms.course", "lms.enrollment"]}),
        )
        events.put_targets(Rule=name, EventBusName="lms", Targets=[{"Id": "e2e", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, kind: str, count: int = 1, **data: Any) -> list[dict[str, Any]]:
        def matching() -> list[dict[str, Any]]:
            return [
                e
                for e in self.seen
                if e["detail-type"] == kind
                and all(e["detail"]["data"].get(k) == v for k, v in data.items())
            ]

        deadline = time.monotonic() + CONSISTENCY_TIMEOUT
        while len(matching()) < count and time.monotonic() < deadline:
            reply = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in reply.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        found = matching()
        assert len(found) >= count, (kind, data, [e["detail-type"] for e in self.seen])
        return found


def _account(rt: Runtime, name: str) -> tuple[str, str]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    reply = http(
        rt,
        "POST",
        "/auth/register",
        body={"email": email, "password": PASSWORD, "displayName": name.title()},
    )
    assert reply.status == 201, reply.body
    return str(reply.body["id"]), email


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


def test_an_instructor_publishes_and_a_student_completes_the_course(runtime: Runtime) -> None:
    tap = Tap(runtime)

    # Given an instructor: an account an administrator gave the INSTRUCTOR role
    instructor_id, instructor_email = _account(runtime, "teacher")
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    made = runtime.lms(
        "create-admin",
        "--email",
        admin_email,
        "--display-name",
        "Ad Min",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    admin = _login(runtime, admin_email)
    _ok(http(runtime, "PUT", f"/users/{instructor_id}/roles/INSTRUCTOR", token=admin))
    teacher = _login(runtime, instructor_email)
    # And a student
    student_id, student_email = _account(runtime, "student")
    student = _login(runtime, student_email)

    # When the instructor creates a course with two modules and three lessons and publishes
    course = _ok(
        http(runtime, "POST", "/courses", token=teacher, body={"title": "Journey 101"}), 201
    )
    course_id = course["id"]
    assert course["status"] == "DRAFT"
    lessons = []
    for module_title, lesson_titles in (("Basics", ["Hello", "World"]), ("More", ["Again"])):
        module = _ok(
            http(
                runtime,
                "POST",
                f"/courses/{course_id}/modules",
                token=teacher,
                body={"title": module_title},
            ),
            201,
        )
        for title in lesson_titles:
            lesson = _ok(
                http(
                    runtime,
                    "POST",
                    f"/courses/{course_id}/modules/{module['id']}/lessons",
                    token=teacher,
                    body={"title": title, "type": "text", "durationMinutes": 3},
                ),
                201,
            )
            lessons.append(lesson["id"])
    published = _ok(http(runtime, "POST", f"/courses/{course_id}/publish", token=teacher))
    assert published["status"] == "PUBLISHED"
    outline = [[lesson["title"] for lesson in m["lessons"]] for m in published["modules"]]
    assert outline == [["Hello", "World"], ["Again"]]

    # Then the catalog lists it (without a token) and its page is readable by slug
    catalog = _ok(http(runtime, "GET", "/courses?limit=100"))
    assert course_id in [c["id"] for c in catalog["items"]]
    by_slug = _ok(http(runtime, "GET", f"/courses/{course['slug']}", token=student))
    assert by_slug["id"] == course_id

    # When the student enrolls, once the Enrollment service has heard of the course
    enrolled = eventually(
        lambda: http(runtime, "POST", f"/courses/{course_id}/enrollments", token=student),
        lambda reply: reply.status != 404,
    )
    enrollment = _ok(enrolled, 201)
    enrollment_id = enrollment["id"]
    assert (enrollment["status"], enrollment["progressPct"]) == ("ACTIVE", 0)
    assert [lesson["lessonId"] for lesson in enrollment["lessons"]] == lessons
    assert _ok(http(runtime, "GET", f"/enrollments/{enrollment_id}", token=student)) == enrollment

    # And completes the lessons one by one
    progress = []
    for lesson_id in lessons:
        step = _ok(
            http(
                runtime,
                "PUT",
                f"/enrollments/{enrollment_id}/lessons/{lesson_id}/completion",
                token=student,
            )
        )
        progress.append((step["progressPct"], step["status"]))

    # Then progress went by thirds to COMPLETED
    assert progress == [(33.33, "ACTIVE"), (66.67, "ACTIVE"), (100, "COMPLETED")]
    mine = _ok(http(runtime, "GET", "/me/enrollments?status=COMPLETED", token=student))
    assert [e["id"] for e in mine["items"]] == [enrollment_id]
    assert mine["items"][0]["courseTitle"] == "Journey 101"
    assert mine["items"][0]["completedAt"] is not None
    # And the instructor sees the enrollment in the course's list (the owner, known to
    # Enrollment from InstructorAssigned), while another student cannot read it
    roster = _ok(http(runtime, "GET", f"/courses/{course_id}/enrollments", token=teacher))
    assert [e["userId"] for e in roster["items"]] == [student_id]
    _, other_email = _account(runtime, "other")
    other = _login(runtime, other_email)
    assert http(runtime, "GET", f"/enrollments/{enrollment_id}", token=other).status == 404

    # And the bus carried every step, with its data
    created = tap.wait_for("CourseCreated", courseId=course_id)[0]
    assert created["source"] == "lms.course"
    assert created["detail"]["data"]["createdBy"] == instructor_id
    announced = tap.wait_for("CoursePublished", courseId=course_id)[0]
    assert announced["detail"]["data"]["lessonIds"] == lessons
    assert len(tap.wait_for("LessonAdded", 3, courseId=course_id)) == 3
    tap.wait_for("EnrollmentCreated", enrollmentId=enrollment_id, userId=student_id)
    completions = tap.wait_for("LessonCompleted", 3, enrollmentId=enrollment_id)
    assert sorted(float(e["detail"]["data"]["progressPct"]) for e in completions) == [
        33.33,
        66.67,
        100.0,
    ]
    finished = tap.wait_for("EnrollmentCompleted", enrollmentId=enrollment_id)
    assert finished[0]["source"] == "lms.enrollment"
