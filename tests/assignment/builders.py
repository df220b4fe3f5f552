"""A course with its people, made through the real routes, and the Assignment routes called."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.assignment.conftest import Feeds
from tests.course.builders import BuiltCourse, build_course, ok, student
from tests.support import Reply, call


@dataclass
class Classroom:
    """A published course (three lessons), its teacher, and students in every standing."""

    course: BuiltCourse
    enrolled: dict[str, Any]  # an active enrollment
    cancelled: dict[str, Any]  # enrolled, then cancelled
    outsider: dict[str, Any]  # a student of no enrollment here
    stranger: dict[str, Any]  # an instructor of another course

    @property
    def teacher(self) -> dict[str, Any]:
        return self.course.owner

    @property
    def id(self) -> str:
        return self.course.id

    @property
    def lesson_ids(self) -> list[str]:
        return self.course.lesson_ids


def enroll(caller: dict[str, Any], course_id: str) -> str:
    reply = call(
        "POST",
        "/courses/{courseId}/enrollments",
        caller=caller,
        path_params={"courseId": course_id},
    )
    return str(ok(reply, 201)["id"])


def classroom(feeds: Feeds, *, students: int = 0) -> tuple[Classroom, list[dict[str, Any]]]:
    """A published course its services know of, and ``students`` more enrolled students."""
    course = build_course()
    other = build_course(title="Another course")
    feeds.pump()
    enrolled, cancelled = student(), student()
    enroll(enrolled, course.id)
    cancelled_id = enroll(cancelled, course.id)
    ok(
        call(
            "POST",
            "/enrollments/{enrollmentId}/cancel",
            caller=cancelled,
            path_params={"enrollmentId": cancelled_id},
        )
    )
    more = [student() for _ in range(students)]
    for learner in more:
        enroll(learner, course.id)
    feeds.pump()
    return Classroom(course, enrolled, cancelled, student(), other.owner), more


# --- calls ------------------------------------------------------------------------------------


def create_assignment(caller: dict[str, Any] | None, course_id: str, **body: Any) -> Reply:
    return call(
        "POST",
        "/courses/{courseId}/assignments",
        caller=caller,
        path_params={"courseId": course_id},
        body={"title": "Essay", "maxScore": 100, **body},
    )


def new_assignment(room: Classroom, **body: Any) -> dict[str, Any]:
    made: dict[str, Any] = ok(create_assignment(room.teacher, room.id, **body), 201)
    return made


def get_assignment(caller: dict[str, Any] | None, assignment_id: str) -> Reply:
    return call(
        "GET",
        "/assignments/{assignmentId}",
        caller=caller,
        path_params={"assignmentId": assignment_id},
    )


def update_assignment(caller: dict[str, Any] | None, assignment_id: str, **body: Any) -> Reply:
    return call(
        "PATCH",
        "/assignments/{assignmentId}",
        caller=caller,
        path_params={"assignmentId": assignment_id},
        body=body,
    )


def submit(
    caller: dict[str, Any] | None,
    assignment_id: str,
    text: str | None = "My answer",
    *,
    links: list[str] | None = None,
    key: str | None = None,
    content: dict[str, Any] | None = None,
) -> Reply:
    if content is None:
        content = {}
        if text is not None:
            content["text"] = text
        if links is not None:
            content["links"] = links
    return call(
        "POST",
        "/assignments/{assignmentId}/submissions",
        caller=caller,
        path_params={"assignmentId": assignment_id},
        body={"content": content},
        headers={"Idempotency-Key": key} if key else None,
    )


def grade(
    caller: dict[str, Any] | None, submission_id: str, score: Any, feedback: str = ""
) -> Reply:
    return call(
        "PUT",
        "/submissions/{submissionId}/grade",
        caller=caller,
        path_params={"submissionId": submission_id},
        body={"score": score, "feedback": feedback},
    )


def get_submission(caller: dict[str, Any] | None, submission_id: str) -> Reply:
    return call(
        "GET",
        "/submissions/{submissionId}",
        caller=caller,
        path_params={"submissionId": submission_id},
    )


def assignment_submissions(
    caller: dict[str, Any] | None, assignment_id: str, **query: str
) -> Reply:
    return call(
        "GET",
        "/assignments/{assignmentId}/submissions",
        caller=caller,
        path_params={"assignmentId": assignment_id},
        query=query,
    )


def all_pages(fetch: Any, **query: str) -> list[dict[str, Any]]:
    """Every item of a cursor-paged list, following nextCursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(fetch(**query, **({"cursor": cursor} if cursor else {})))
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items


def unknown() -> str:
    return str(uuid.uuid4())
