"""Who may call each route: anonymous, a student, an enrolled student, an instructor of
another course, the course's instructor, an admin. Membership comes from the read models
(Course and Enrollment events, delivered for real); roles from the token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.content import samples
from tests.content.conftest import (
    World,
    answers_to,
    create_item,
    enroll,
    published_pdf,
    published_quiz,
    uploaded_version,
)
from tests.course.builders import ok
from tests.support import as_caller, call

pytestmark = [pytest.mark.integration]

CALLERS = [
    "anonymous",
    "student",
    "enrolled student",
    "instructor of another course",
    "instructor",
    "admin",
]


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    # What the call is made on: path parameters, then body and query, from a fresh world.
    make: Callable[[World], tuple[dict[str, str], Any, dict[str, str] | None]]
    # The status each kind of caller gets, in the order of CALLERS.
    expected: tuple[int, int, int, int, int, int]


def _lesson(world: World) -> tuple[dict[str, str], Any, None]:
    return {"courseId": world.course.id, "lessonId": world.lesson}, None, None


def _new_item(world: World) -> tuple[dict[str, str], Any, None]:
    return (
        {"courseId": world.course.id, "lessonId": world.lesson},
        {"type": "pdf", "title": "T"},
        None,
    )


def _pdf(world: World) -> tuple[dict[str, str], Any, None]:
    item, _ = published_pdf(world)
    return {"itemId": item}, None, None


def _upload(world: World) -> tuple[dict[str, str], Any, None]:
    item, _ = published_pdf(world)
    data = samples.pdf("v2")
    body = {
        "fileName": "v2.pdf",
        "contentType": "application/pdf",
        "sizeBytes": len(data),
        "checksumSha256": samples.sha256(data),
    }
    return {"itemId": item}, body, None


def _uploaded(world: World) -> tuple[dict[str, str], Any, None]:
    item, _ = published_pdf(world)
    version, _ = uploaded_version(world.owner, item, samples.pdf("v2"))
    return {"itemId": item, "versionId": version}, None, None


def _ready(world: World) -> tuple[dict[str, str], Any, None]:
    item, _ = published_pdf(world)
    version, _ = uploaded_version(world.owner, item, samples.pdf("v2"))
    ok(
        call(
            "POST", "/content/{itemId}/versions/{versionId}/complete", caller=world.owner,
            path_params={"itemId": item, "versionId": version},
        )
    )  # fmt: skip
    return {"itemId": item, "versionId": version}, None, None


def _quiz(world: World) -> tuple[dict[str, str], Any, None]:
    item, _ = published_quiz(world)
    return {"itemId": item}, None, None


_QUESTIONS = [
    {
        "questionText": "Yes?",
        "options": [{"id": "y", "text": "Yes"}, {"id": "n", "text": "No"}],
        "correctOptionId": "y",
    }
]


def _questions(world: World) -> tuple[dict[str, str], Any, None]:
    item, _ = published_quiz(world)
    return {"itemId": item}, {"questions": _QUESTIONS}, None


def _answers(world: World) -> tuple[dict[str, str], Any, None]:
    item, quiz = published_quiz(world)
    return {"itemId": item}, {"answers": answers_to(quiz, 3)}, None


OK = 200
CASES = {
    "create_content": Case(
        "POST", "/courses/{courseId}/lessons/{lessonId}/content", _new_item,
        (401, 403, 403, 404, 201, 201),
    ),
    "list_lesson_content": Case(
        "GET", "/courses/{courseId}/lessons/{lessonId}/content", _lesson,
        (401, 404, OK, 404, OK, OK),
    ),
    "get_content": Case("GET", "/content/{itemId}", _pdf, (401, 404, OK, 404, OK, OK)),
    "start_upload": Case(
        "POST", "/content/{itemId}/uploads", _upload, (401, 404, 403, 404, 201, 201)
    ),
    "complete_upload": Case(
        "POST", "/content/{itemId}/versions/{versionId}/complete", _uploaded,
        (401, 404, 403, 404, OK, OK),
    ),
    "publish_version": Case(
        "POST", "/content/{itemId}/versions/{versionId}/publish", _ready,
        (401, 404, 403, 404, OK, OK),
    ),
    "list_versions": Case(
        "GET", "/content/{itemId}/versions", _pdf, (401, 404, 403, 404, OK, OK)
    ),
    "download_content": Case(
        "GET", "/content/{itemId}/download", _pdf, (401, 404, OK, 404, OK, OK)
    ),
    "put_questions": Case(
        "PUT", "/content/{itemId}/questions", _questions, (401, 404, 403, 404, OK, OK)
    ),
    "get_questions": Case(
        "GET", "/content/{itemId}/questions", _quiz, (401, 404, OK, 404, OK, OK)
    ),
    # Only enrolled students answer quizzes; an instructor or admin who is not is refused.
    "submit_attempt": Case(
        "POST", "/content/{itemId}/attempts", _answers, (401, 404, 201, 404, 403, 403)
    ),
    "list_attempts": Case(
        "GET", "/content/{itemId}/attempts", _quiz, (401, 404, OK, 404, OK, OK)
    ),
}  # fmt: skip


def test_every_route_of_the_service_is_in_the_table() -> None:
    from functions.content.service import SERVICE

    assert {r.name for r in SERVICE.routes} == set(CASES)
    assert {(r.method, r.path) for r in SERVICE.routes} == {
        (c.method, c.path) for c in CASES.values()
    }


@pytest.mark.parametrize("route", sorted(CASES))
def test_each_kind_of_caller_gets_what_the_rules_say(world: World, route: str) -> None:
    case = CASES[route]
    callers = world.callers()
    got = {}
    for who, expected in zip(CALLERS, case.expected, strict=True):
        params, body, query = case.make(world)
        reply = call(
            case.method, case.path, caller=callers[who], path_params=params, body=body,
            query=query,
        )  # fmt: skip
        got[who] = reply.status
        if expected >= 400:
            assert reply.content_type == "application/problem+json", (who, reply.body)
    assert got == dict(zip(CALLERS, case.expected, strict=True))


def test_teaching_without_the_instructor_role_in_the_token_is_not_enough(world: World) -> None:
    # The course's owner whose token no longer carries INSTRUCTOR (the role was revoked)
    item, _ = published_pdf(world)
    demoted = as_caller(world.owner["sub"], "STUDENT")
    assert (
        call("GET", "/content/{itemId}", caller=demoted, path_params={"itemId": item}).status == 404
    )
    assert create_item(demoted, world.course.id, world.lesson).status == 403


def test_a_cancelled_enrollment_sees_nothing_and_a_completed_one_still_does(
    world: World, deliver: Any
) -> None:
    from tests.course.builders import student

    item, _ = published_pdf(world)

    def sees(caller: dict[str, Any]) -> int:
        return call("GET", "/content/{itemId}", caller=caller, path_params={"itemId": item}).status

    # A student who cancels loses sight of the content
    leaver = student()
    enrollment = enroll(leaver, world.course.id)
    deliver()
    assert sees(leaver) == 200
    ok(call("POST", "/enrollments/{enrollmentId}/cancel", caller=leaver,
            path_params={"enrollmentId": enrollment}))  # fmt: skip
    deliver()
    assert sees(leaver) == 404
    # A student who completes the course keeps it
    for lesson in world.course.lesson_ids:
        ok(call("PUT", "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
                caller=world.enrolled,
                path_params={"enrollmentId": world.enrollment_id, "lessonId": lesson}))  # fmt: skip
    deliver()
    status = ok(call("GET", "/enrollments/{enrollmentId}", caller=world.enrolled,
                     path_params={"enrollmentId": world.enrollment_id}))["status"]  # fmt: skip
    assert status == "COMPLETED"
    assert sees(world.enrolled) == 200


def test_students_see_only_published_items_and_instructors_everything(world: World) -> None:
    published, _ = published_pdf(world)
    draft = ok(create_item(world.owner, world.course.id, world.lesson, "video"), 201)["id"]

    def listed(caller: dict[str, Any]) -> list[str]:
        params = {"courseId": world.course.id, "lessonId": world.lesson}
        path = "/courses/{courseId}/lessons/{lessonId}/content"
        page = ok(call("GET", path, caller=caller, path_params=params))
        return [i["id"] for i in page["items"]]

    assert listed(world.owner) == [published, draft]
    assert listed(world.enrolled) == [published]
    assert call("GET", "/content/{itemId}", caller=world.enrolled,
                path_params={"itemId": draft}).status == 404  # fmt: skip


def test_a_lesson_or_course_unknown_to_the_read_model_is_a_404(world: World) -> None:
    import uuid

    unknown_lesson = create_item(world.owner, world.course.id, str(uuid.uuid4()))
    unknown_course = create_item(world.admin, str(uuid.uuid4()), world.lesson)
    assert (unknown_lesson.status, unknown_course.status) == (404, 404)
