"""A course's ``requiresSubscription``: given at creation or by a change, shown wherever the
course is, and carried by every event with the course's header."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lms_events import course as events
from tests.course.builders import (
    add_lesson,
    add_module,
    create_course,
    get_course,
    instructor,
    ok,
    publish,
    student,
)
from tests.support import call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def patch(caller: dict[str, Any], course_id: str, **body: Any) -> Any:
    return call(
        "PATCH", "/courses/{courseId}", caller=caller, path_params={"courseId": course_id},
        body=body,
    )  # fmt: skip


def header_events(event_log: Any, course_id: str, count: int) -> list[dict[str, Any]]:
    """The course's events that carry its header (at least ``count``), in version order."""
    kinds = ("CourseCreated", "CourseUpdated", "CoursePublished", "CourseArchived")
    deadline = time.monotonic() + 5
    while True:
        event_log.drain(wait_seconds=0.1)
        found = [
            e["detail"]["data"]
            for kind in kinds
            for e in event_log.of_type(kind)
            if e["detail"]["data"]["courseId"] == course_id
        ]
        if len(found) >= count or time.monotonic() > deadline:
            return sorted(found, key=lambda d: d["version"])


def test_a_course_is_open_to_all_unless_told_and_says_so_everywhere() -> None:
    teacher = instructor()

    course = create_course(teacher, "Free for all")

    assert course["requiresSubscription"] is False
    assert ok(get_course(teacher, course["id"]))["requiresSubscription"] is False


def test_requires_subscription_is_set_at_creation_changed_by_patch_and_read_back(
    event_log: Any,
) -> None:
    # Given a course created as requiring a subscription
    teacher = instructor()
    course = create_course(teacher, "Members only", requiresSubscription=True)
    assert course["requiresSubscription"] is True
    module = add_module(teacher, course["id"], "Module 1")
    add_lesson(teacher, course["id"], module["id"], "Lesson 1")
    published = publish(teacher, course["id"])
    assert published["requiresSubscription"] is True

    # When a change that does not name it, then one that turns it off
    renamed = ok(patch(teacher, course["id"], title="Members only, 2nd edition"))
    opened = ok(patch(teacher, course["id"], requiresSubscription=False))

    # Then the first keeps it, the second changes it, and everyone reads the same
    assert renamed["requiresSubscription"] is True
    assert opened["requiresSubscription"] is False
    assert ok(get_course(student(), course["id"]))["requiresSubscription"] is False
    catalog = ok(call("GET", "/courses", query={"search": "Members only"}))
    assert [(c["id"], c["requiresSubscription"]) for c in catalog["items"]] == [
        (course["id"], False)
    ]
    # And every header event carries the value as of its version
    carried = header_events(event_log, course["id"], count=4)
    assert [(d["version"], d["requiresSubscription"]) for d in carried] == [
        (1, True),  # created
        (4, True),  # published (a module and a lesson came before)
        (5, True),  # renamed
        (6, False),  # opened
    ]


def test_requires_subscription_takes_a_json_boolean_only() -> None:
    teacher = instructor()
    refused = call(
        "POST", "/courses", caller=teacher, body={"title": "X", "requiresSubscription": "yes"}
    )
    assert refused.status == 422
    assert "requiresSubscription" in str(refused.body)
    course = create_course(teacher, "Y")
    assert patch(teacher, course["id"], requiresSubscription=1).status == 422
    assert ok(get_course(teacher, course["id"]))["requiresSubscription"] is False


def test_a_header_event_made_before_the_field_existed_parses_as_open_to_all() -> None:
    # Given a CourseUpdated as published before courses could require a subscription
    old = {
        "courseId": "8d3c1f1e-5a4b-4c1e-9d55-0b9f2d8f4a11",
        "version": 3,
        "title": "Old",
        "slug": "old",
        "description": None,
        "status": "PUBLISHED",
    }
    # When it is parsed with today's model, then it does not require one
    assert events.CourseUpdated.model_validate(old).requires_subscription is False
