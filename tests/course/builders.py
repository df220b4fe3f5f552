"""Courses made through the real Course routes, for the tests of both services."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from lms_events import user as user_events
from lms_events.envelope import Envelope, EventData
from tests.support import as_caller, call


def tell_course_service(data: EventData) -> None:
    """Deliver a User event to the Course service's consumer, as the bus would."""
    from functions.course import consumer

    detail = json.loads(
        Envelope.wrap(data, aggregate_id=getattr(data, "user_id", "")).detail_json()
    )
    consumer.consumer.deliver(
        {"source": data.source, "detail-type": data.event_type, "detail": detail}
    )


def known_user(*roles: str) -> dict[str, Any]:
    """The claims of a new user, whom the Course service has heard of (registered with
    ``roles``, version 1), as the User service's events would have told it."""
    user = uuid.uuid4()
    tell_course_service(
        user_events.UserRegistered(
            user_id=user,
            email=f"{user.hex[:8]}@example.com",
            display_name="Someone",
            roles=list(roles),  # type: ignore[arg-type]
            version=1,
        )
    )
    return as_caller(user, *roles)


def instructor() -> dict[str, Any]:
    """The claims of a new instructor, known to the Course service as one."""
    return known_user("INSTRUCTOR")


def student() -> dict[str, Any]:
    return known_user("STUDENT")


def admin() -> dict[str, Any]:
    return known_user("ADMIN")


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
    requires_subscription: bool = False,
) -> BuiltCourse:
    """A course with modules holding ``lessons_per_module`` lessons, published unless told;
    enrolling in it needs a subscription when told."""
    owner = owner or instructor()
    body = {"requiresSubscription": True} if requires_subscription else {}
    course = BuiltCourse(owner, create_course(owner, title, **body)["id"])
    for m, count in enumerate(lessons_per_module):
        module = add_module(owner, course.id, f"Module {m + 1}")
        course.module_ids.append(module["id"])
        for n in range(count):
            lesson = add_lesson(owner, course.id, module["id"], f"Lesson {m + 1}.{n + 1}")
            course.lesson_ids.append(lesson["id"])
    if published:
        publish(owner, course.id)
    return course
