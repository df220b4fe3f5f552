"""An assignment from creation to the lesson its grade completes, over HTTP against ``lms run``.

An instructor publishes a course of two lessons and attaches an assignment to the first;
a student enrolls, hands in work (retried with the same Idempotency-Key: one submission),
hands it in again, is graded; a resubmission after the grade is refused; the grade reaches
the Enrollment service over bus -> rule -> queue -> consumer and completes the lesson. Every
cross-service step is retried until the events have arrived.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.harness import PASSWORD, BusTap, Reply, Runtime, eventually, http, login

pytestmark = pytest.mark.e2e


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


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


def test_a_graded_assignment_completes_its_lesson(runtime: Runtime) -> None:
    tap = BusTap(runtime, ["lms.assignment", "lms.enrollment"])

    # Given an instructor (an administrator gave the role) and a published course
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
    course_id = _ok(
        http(runtime, "POST", "/courses", token=teacher, body={"title": "Essays 101"}), 201
    )["id"]
    module_id = _ok(
        http(
            runtime,
            "POST",
            f"/courses/{course_id}/modules",
            token=teacher,
            body={"title": "Writing"},
        ),
        201,
    )["id"]
    lessons = [
        _ok(
            http(
                runtime,
                "POST",
                f"/courses/{course_id}/modules/{module_id}/lessons",
                token=teacher,
                body={"title": title, "type": "assignment"},
            ),
            201,
        )["id"]
        for title in ("First essay", "Second essay")
    ]
    _ok(http(runtime, "POST", f"/courses/{course_id}/publish", token=teacher))

    # When the instructor attaches an assignment to the first lesson, once the Assignment
    # service has heard of the course and its lessons
    body = {
        "title": "On engines",
        "lessonId": lessons[0],
        "maxScore": 100,
        "passingScore": "60",
        "dueAt": "2099-01-01T00:00:00Z",
    }
    created = eventually(
        lambda: http(
            runtime, "POST", f"/courses/{course_id}/assignments", token=teacher, body=body
        ),
        lambda reply: reply.status == 201,
    )
    assignment = _ok(created, 201)
    assert (assignment["maxScore"], assignment["passingScore"]) == ("100.00", "60.00")

    # And a student enrolls and hands in work, once the Assignment service knows of it
    student_id, student_email = _account(runtime, "student")
    student = login(runtime, student_email)
    enrollment_id = _ok(
        eventually(
            lambda: http(runtime, "POST", f"/courses/{course_id}/enrollments", token=student),
            lambda reply: reply.status != 404,
        ),
        201,
    )["id"]
    path = f"/assignments/{assignment['id']}/submissions"
    work = {"content": {"text": "Engines count.", "links": ["https://example.com/essay"]}}
    key = {"Idempotency-Key": f"essay-{uuid.uuid4().hex}"}
    first = _ok(
        eventually(
            lambda: http(runtime, "POST", path, token=student, body=work, headers=key),
            lambda reply: reply.status == 201,
        ),
        201,
    )
    retried = _ok(http(runtime, "POST", path, token=student, body=work, headers=key), 201)
    second = _ok(
        http(runtime, "POST", path, token=student, body={"content": {"text": "Better."}}), 201
    )

    # Then the retry made nothing, and the second submission is the one that counts
    assert retried["id"] == first["id"]
    assert (first["status"], second["status"]) == ("SUBMITTED", "SUBMITTED")
    latest = _ok(http(runtime, "GET", f"{path}?latest=true", token=teacher))
    assert [s["id"] for s in latest["items"]] == [second["id"]]
    assert http(runtime, "GET", path, token=student).status == 403

    # When the instructor grades it, below and then above the passing score
    grade_path = f"/submissions/{second['id']}/grade"
    failed = _ok(http(runtime, "PUT", grade_path, token=teacher, body={"score": 55}))
    passed = _ok(
        http(runtime, "PUT", grade_path, token=teacher, body={"score": 72.5, "feedback": "Yes."})
    )
    assert (failed["passed"], failed["version"]) == (False, 1)
    assert (passed["passed"], passed["version"], passed["score"]) == (True, 2, "72.50")

    # Then the student sees the grade, may not hand in more, and the lesson is completed
    mine = _ok(http(runtime, "GET", f"/submissions/{second['id']}", token=student))
    assert (mine["status"], mine["grade"]["feedback"]) == ("GRADED", "Yes.")
    assert http(runtime, "POST", path, token=student, body=work).status == 409
    completed = eventually(
        lambda: http(runtime, "GET", f"/enrollments/{enrollment_id}", token=student),
        lambda reply: reply.status == 200 and reply.body["progressPct"] == 50.0,
    )
    done = [p["lessonId"] for p in completed.body["lessons"] if p["completedAt"]]
    assert done == [lessons[0]]

    # And the bus carried it all
    graded = tap.wait_for_kind("SubmissionGraded", 2, submissionId=second["id"])
    assert sorted(e["detail"]["data"]["version"] for e in graded) == [1, 2]
    assert len(tap.wait_for_kind("SubmissionCreated", 2, userId=student_id)) == 2
    tap.wait_for_kind("LessonCompleted", enrollmentId=enrollment_id, lessonId=lessons[0])
