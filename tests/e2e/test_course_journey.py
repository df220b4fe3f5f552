"""A course from creation to a student's completion, over HTTP against ``lms run``.

An instructor (made by an administrator from ``lms create-admin``) creates a course with
two modules and three lessons and publishes it; the Course events reach Enrollment over
bus -> rule -> queue -> consumer, so the student's enrollment is retried until the course
is known there; the student completes the lessons and progress goes 0 -> 33.33 -> 66.67
-> 100, COMPLETED; the bus carried every step.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from functions.registry import SERVICES
from tests.e2e.harness import PASSWORD, BusTap, Reply, Runtime, eventually, http, login

pytestmark = pytest.mark.e2e


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
    tap = BusTap(runtime, ["lms.course", "lms.enrollment"])

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
    admin = login(runtime, admin_email)
    _ok(http(runtime, "PUT", f"/users/{instructor_id}/roles/INSTRUCTOR", token=admin))
    teacher = login(runtime, instructor_email)
    # And a student
    student_id, student_email = _account(runtime, "student")
    student = login(runtime, student_email)

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
    other = login(runtime, other_email)
    assert http(runtime, "GET", f"/enrollments/{enrollment_id}", token=other).status == 404

    # And the bus carried every step, with its data
    created = tap.wait_for_kind("CourseCreated", courseId=course_id)[0]
    assert created["source"] == "lms.course"
    assert created["detail"]["data"]["createdBy"] == instructor_id
    announced = tap.wait_for_kind("CoursePublished", courseId=course_id)[0]
    assert announced["detail"]["data"]["lessonIds"] == lessons
    assert len(tap.wait_for_kind("LessonAdded", 3, courseId=course_id)) == 3
    tap.wait_for_kind("EnrollmentCreated", enrollmentId=enrollment_id, userId=student_id)
    completions = tap.wait_for_kind("LessonCompleted", 3, enrollmentId=enrollment_id)
    assert sorted(float(e["detail"]["data"]["progressPct"]) for e in completions) == [
        33.33,
        66.67,
        100.0,
    ]
    finished = tap.wait_for_kind("EnrollmentCompleted", enrollmentId=enrollment_id)
    assert finished[0]["source"] == "lms.enrollment"

    # When the instructor adds a fourth lesson to the course the student has finished
    _ok(
        http(
            runtime,
            "POST",
            f"/courses/{course_id}/modules/{module['id']}/lessons",
            token=teacher,
            body={"title": "Encore", "type": "text", "durationMinutes": 3},
        ),
        201,
    )
    # Then the recompute, run as tasks on the Enrollment service's own queue, takes the
    # enrollment back to ACTIVE at 3 of 4
    regrown = eventually(
        lambda: http(runtime, "GET", f"/enrollments/{enrollment_id}", token=student),
        lambda reply: reply.status == 200 and reply.body["progressPct"] == 75.0,
    )
    assert (regrown.body["status"], regrown.body["progressPct"]) == ("ACTIVE", 75.0)
    # And the operator's view shows nothing left to send and no recompute running
    status = runtime.lms("outbox", "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    report = json.loads(status.stdout)
    assert report["recomputes"] == []
    waiting = {o["service"]: o for o in report["outbox"]}
    assert set(waiting) == {s.name for s in SERVICES}
    assert waiting["enrollment"]["tasks"] == 0
