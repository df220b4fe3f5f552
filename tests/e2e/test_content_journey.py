"""Content over HTTP against ``lms run``: a PDF uploaded with the presigned PUT to the
runtime's own emulator, completed, published and downloaded with its bytes; a wrong file
refused and gone; a quiz passed that completes its lesson in the Enrollment service, which
hears of it over bus -> rule -> queue -> consumer."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.content import samples
from tests.e2e.harness import PASSWORD, Reply, Runtime, aws_client, eventually, http, login

pytestmark = pytest.mark.e2e


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


def _account(rt: Runtime, name: str) -> tuple[str, str]:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "displayName": name.title()}
    return str(_ok(http(rt, "POST", "/auth/register", body=body), 201)["id"]), email


def _put(upload: dict[str, Any], data: bytes) -> int:
    headers = {k: v for k, v in upload["headers"].items() if k != "Content-Length"}
    request = urllib.request.Request(upload["url"], data=data, method="PUT", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _upload(rt: Runtime, teacher: str, item: str, data: bytes, **declared: Any) -> str:
    body = {
        "fileName": "notes.pdf",
        "contentType": "application/pdf",
        "sizeBytes": len(data),
        "checksumSha256": hashlib.sha256(data).hexdigest(),
        **declared,
    }
    started = _ok(http(rt, "POST", f"/content/{item}/uploads", token=teacher, body=body), 201)
    assert _put(started["upload"], data) == 200
    return str(started["versionId"])


def test_files_and_quizzes_from_upload_to_a_completed_lesson(runtime: Runtime) -> None:
    # Given an instructor and a published course of two lessons, and an enrolled student
    instructor_id, instructor_email = _account(runtime, "teacher")
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    made = runtime.lms(
        "create-admin", "--email", admin_email, "--display-name", "Ad Min", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    admin = login(runtime, admin_email)
    _ok(http(runtime, "PUT", f"/users/{instructor_id}/roles/INSTRUCTOR", token=admin))
    teacher = login(runtime, instructor_email)
    course = _ok(http(runtime, "POST", "/courses", token=teacher, body={"title": "Files 101"}), 201)
    module = _ok(
        http(runtime, "POST", f"/courses/{course['id']}/modules", token=teacher,
             body={"title": "All"}), 201,
    )  # fmt: skip
    lessons = []
    for title, kind in (("Read", "pdf"), ("Check", "quiz")):
        path = f"/courses/{course['id']}/modules/{module['id']}/lessons"
        body = {"title": title, "type": kind}
        lessons.append(_ok(http(runtime, "POST", path, token=teacher, body=body), 201)["id"])
    _ok(http(runtime, "POST", f"/courses/{course['id']}/publish", token=teacher))
    _, student_email = _account(runtime, "student")
    student = login(runtime, student_email)
    enrollment = _ok(
        eventually(
            lambda: http(runtime, "POST", f"/courses/{course['id']}/enrollments", token=student),
            lambda reply: reply.status != 404,
        ),
        201,
    )

    # When the instructor adds a PDF to the first lesson (once Content knows the lesson)
    pdf = _ok(
        eventually(
            lambda: http(runtime, "POST", f"/courses/{course['id']}/lessons/{lessons[0]}/content",
                         token=teacher, body={"type": "pdf", "title": "Notes"}),
            lambda reply: reply.status != 404,
        ),
        201,
    )["id"]  # fmt: skip
    # And uploads a real PDF with the presigned PUT, completes and publishes it
    data = samples.pdf("Files 101, lesson one")
    version = _upload(runtime, teacher, pdf, data)
    ready = _ok(http(runtime, "POST", f"/content/{pdf}/versions/{version}/complete", token=teacher))
    assert (ready["status"], ready["sizeBytes"]) == ("READY", len(data))
    _ok(http(runtime, "POST", f"/content/{pdf}/versions/{version}/publish", token=teacher))

    # Then the student (once Content knows the enrollment) downloads the same bytes
    link = _ok(
        eventually(
            lambda: http(runtime, "GET", f"/content/{pdf}/download", token=student),
            lambda reply: reply.status != 404,
        )
    )
    with urllib.request.urlopen(link["url"], timeout=30) as response:  # noqa: S310
        assert response.read() == data
        assert response.headers["Content-Type"] == "application/pdf"

    # And a PNG declared as a PDF is refused and leaves nothing in the bucket
    wrong = _upload(runtime, teacher, pdf, samples.png())
    refused = http(runtime, "POST", f"/content/{pdf}/versions/{wrong}/complete", token=teacher)
    assert refused.status == 422 and refused.body["mismatch"] == "type"
    listing = aws_client(runtime, "s3").list_object_versions(
        Bucket="lms-content", Prefix=f"content/items/{pdf}/versions/{wrong}"
    )
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")

    # When the instructor writes and publishes a quiz on the second lesson
    quiz = _ok(
        http(runtime, "POST", f"/courses/{course['id']}/lessons/{lessons[1]}/content",
             token=teacher, body={"type": "quiz", "title": "Check", "passMarkPct": 50}), 201,
    )["id"]  # fmt: skip
    questions = [
        {
            "questionText": "A PDF begins with?",
            "options": [{"id": "pdf", "text": "%PDF"}, {"id": "png", "text": "\\x89PNG"}],
            "correctOptionId": "pdf",
        }
    ]
    draft = _ok(
        http(runtime, "PUT", f"/content/{quiz}/questions", token=teacher,
             body={"questions": questions}),
    )  # fmt: skip
    _ok(
        http(
            runtime, "POST", f"/content/{quiz}/versions/{draft['versionId']}/publish", token=teacher
        )
    )
    # Then the student reads it without the answer, and passes it
    seen = _ok(http(runtime, "GET", f"/content/{quiz}/questions", token=student))
    assert "correctOptionId" not in seen["questions"][0]
    question = seen["questions"][0]["id"]
    passed = _ok(
        http(runtime, "POST", f"/content/{quiz}/attempts", token=student,
             body={"answers": {question: "pdf"}}), 201,
    )  # fmt: skip
    assert (passed["scorePct"], passed["passed"]) == (100.0, True)
    # And the Enrollment service, hearing QuizAttempted, completes that lesson
    progressed = eventually(
        lambda: http(runtime, "GET", f"/enrollments/{enrollment['id']}", token=student),
        lambda reply: reply.status == 200 and reply.body["progressPct"] == 50.0,
    )
    done = {lesson["lessonId"]: lesson["completedAt"] for lesson in progressed.body["lessons"]}
    assert done[lessons[1]] is not None and done[lessons[0]] is None
