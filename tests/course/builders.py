"""Courses made through the real Course routes, for the tests of both services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support import as_caller, call


def instructor() -> dict[str, Any]:
    """The claims of a new instructor (the Course service keeps no user table)."""
    return as_caller(uuid.uuid4(), "INSTRUCTOR")


def student() -> dict[str, Any]:
    return as_caller(uuid.uuid4(), "STUDENT")


def admin() -> dict[str, Any]:
    return as_caller(uuid.uuid4(), "ADMIN")


def user_id(caller: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(caller["sub"])


def ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


def create_course(caller: dict[str, Any], title: str = "Intro to Testing", **body: Any) -> Any:
    return ok(call("POST", "/courses", caller=caller, body={"title": title, **body}), 201)


def add_module(caller: dict[str, Any], course_id: str, title: str, **body: Any) -> Any:
    return ok(
        call(
            "POST",
            "/courses/{courseId}/modules",
            caller=caller,
            path_params={"courseId": course_id},
            body={"title": title, **body},
        ),
        201,
    )


def add_lesson(
    caller: dict[str, Any], course_id: str, module_id: str, title: str, **body: Any
) -> Any:
    return ok(
        call(
            "POST",
            "/courses/{courseId}/modules/{moduleId}/lessons",
            caller=caller,
            path_params={"courseId": course_id, "moduleId": module_id},
            body={"title": title, "type": "video", "durationMinutes": 5, **body},
        ),
        201,
    )


def publish(caller: dict[str, Any], course_id: str) -> Any:
    return ok(
        call(
            "POST",
            "/courses/{courseId}/publish",
            caller=caller,
            path_params={"courseId": course_id},
        )
    )


def get_course(caller: dict[str, Any], course_id: str) -> Any:
    return call("GET", "/courses/{courseId}", caller=caller, path_params={"courseId": course_id})


@dataclass
class BuiltCourse:
    owner: dict[str, Any]
    id: str
    module_ids: list[str] = field(default_factory=list)
    lesson_ids: list[str] = field(default_factory=list)


def build_course(
    owner: dict[str, Any] | None = None,
    *,
    lessons_per_module: tuple[int, ...] = (2, 1),
    published: bool = True,
    title: str = "Intro to Testing",
) -> BuiltCourse:
    """A course with modules holding ``lessons_per_module`` lessons, published unless told."""
    owner = owner or instructor()
    course = BuiltCourse(owner, create_course(owner, title)["id"])
    for m, count in enumerate(lessons_per_module):
        module = add_module(owner, course.id, f"Module {m + 1}")
        course.module_ids.append(module["id"])
        for n in range(count):
            lesson = add_lesson(owner, course.id, module["id"], f"Lesson {m + 1}.{n + 1}")
            course.lesson_ids.append(lesson["id"])
    if published:
        publish(owner, course.id)
    return course
