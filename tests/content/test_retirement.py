"""Course events retire content: a removed lesson's items for good, an archived course's
until it is published again; the consumer ends the same whatever order the events come in
and however often."""

from __future__ import annotations

import random
from typing import Any

import pytest

from functions.content import consumer
from tests.content import samples
from tests.content.conftest import (
    World,
    answers_to,
    attempt,
    complete,
    create_item,
    outbox_events,
    publish,
    published_pdf,
    published_quiz,
    put_file,
    start_upload,
)
from tests.course.builders import add_lesson, ok
from tests.support import call

pytestmark = [pytest.mark.integration]


def remove_lesson(world: World, lesson: str) -> None:
    ok(call("DELETE", "/courses/{courseId}/lessons/{lessonId}", caller=world.owner,
            path_params={"courseId": world.course.id, "lessonId": lesson}))  # fmt: skip


def course_action(world: World, action: str) -> None:
    ok(call("POST", f"/courses/{{courseId}}/{action}", caller=world.owner,
            path_params={"courseId": world.course.id}))  # fmt: skip


def item(caller: dict[str, Any], item_id: str) -> Any:
    return call("GET", "/content/{itemId}", caller=caller, path_params={"itemId": item_id})


def test_removing_a_lesson_retires_its_items_for_everyone(world: World, deliver: Any) -> None:
    # Given a published PDF and quiz in the first lesson, and a PDF in the second
    pdf, _ = published_pdf(world)
    quiz, questions = published_quiz(world)
    other = ok(create_item(world.owner, world.course.id, world.course.lesson_ids[1]), 201)["id"]
    # When the first lesson is removed from the course
    remove_lesson(world, world.lesson)
    deliver()
    # Then its items are retired: students no longer see them, instructors do, and nothing
    # about them changes any more
    assert item(world.enrolled, pdf).status == 404
    retired = ok(item(world.owner, pdf))
    assert retired["retiredReason"] == "LESSON_REMOVED" and retired["retiredAt"]
    assert start_upload(world.owner, pdf, samples.pdf()).status == 409
    assert attempt(world.enrolled, quiz, answers_to(questions, 3)).status == 404
    # And the other lesson's item is untouched
    assert ok(item(world.owner, other))["retiredAt"] is None


def test_archiving_retires_and_publishing_again_restores(world: World, deliver: Any) -> None:
    pdf, _ = published_pdf(world)
    quiz, questions = published_quiz(world)
    course_action(world, "archive")
    deliver()
    # Archived: frozen, but the enrolled student keeps reading what was published
    assert ok(item(world.owner, pdf))["retiredReason"] == "COURSE_ARCHIVED"
    assert ok(item(world.enrolled, pdf))["retiredReason"] == "COURSE_ARCHIVED"
    assert call("GET", "/content/{itemId}/download", caller=world.enrolled,
                path_params={"itemId": pdf}).status == 200  # fmt: skip
    assert attempt(world.enrolled, quiz, answers_to(questions, 3)).status == 409
    assert create_item(world.owner, world.course.id, world.lesson).status == 409
    # Published again: everything the archive retired comes back
    course_action(world, "publish")
    deliver()
    assert ok(item(world.owner, pdf))["retiredAt"] is None
    assert attempt(world.enrolled, quiz, answers_to(questions, 3)).status == 201


def test_an_upload_of_retired_content_is_refused_at_completion_and_deleted(
    world: World, deliver: Any
) -> None:
    from functions.content import files
    from tests.content.conftest import object_versions

    data = samples.pdf()
    pdf = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    started = ok(start_upload(world.owner, pdf, data), 201)
    put_file(started["upload"], data)
    remove_lesson(world, world.lesson)
    deliver()
    reply = complete(world.owner, pdf, started["versionId"])
    assert reply.status == 409, reply.body
    assert object_versions(files.object_key("content/", pdf, started["versionId"])) == []  # type: ignore[arg-type]
    assert publish(world.owner, pdf, started["versionId"]).status == 409


def _state(admin_sql: Any) -> dict[str, Any]:
    def rows(sql: str) -> list[list[Any]]:
        return [list(r) for r in admin_sql.run(sql)]

    return {
        "items": rows(
            "SELECT id::text, retired_reason, retired_at IS NOT NULL FROM lms_content.content_items"
            " ORDER BY id"
        ),
        "courses": rows(
            "SELECT id::text, status, version, outline_version FROM lms_content.courses ORDER BY id"
        ),
        "lessons": rows(
            "SELECT course_id::text, lesson_id::text, position FROM lms_content.course_lessons"
            " ORDER BY 1, 3"
        ),
        "instructors": rows(
            "SELECT course_id::text, user_id::text, active FROM lms_content.course_instructors"
            " ORDER BY 1, 2"
        ),
        "enrollments": rows(
            "SELECT id::text, cancelled, version FROM lms_content.enrollments ORDER BY 1"
        ),
    }


def _reset(admin_sql: Any) -> None:
    admin_sql.run(
        "TRUNCATE lms_content.inbox, lms_content.courses, lms_content.course_lessons,"
        " lms_content.course_instructors, lms_content.enrollments"
    )
    admin_sql.run("UPDATE lms_content.content_items SET retired_at = NULL, retired_reason = NULL")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_consumer_ends_the_same_for_shuffled_and_repeated_deliveries(
    world: World, deliver: Any, admin_sql: Any, admin_url: str, seed: int
) -> None:
    # Given content in both lessons, and a course history: a lesson added, the first
    # removed, the course archived and published again, the new lesson's items made, the
    # second lesson removed
    first, _ = published_pdf(world)
    second = ok(create_item(world.owner, world.course.id, world.course.lesson_ids[1]), 201)["id"]
    added = add_lesson(world.owner, world.course.id, world.course.module_ids[0], "Late")["id"]
    deliver()
    late = ok(create_item(world.owner, world.course.id, added), 201)["id"]
    remove_lesson(world, world.lesson)
    course_action(world, "archive")
    course_action(world, "publish")
    remove_lesson(world, world.course.lesson_ids[1])
    events = [
        e for e in outbox_events(admin_url) if e["source"] in ("lms.course", "lms.enrollment")
    ]

    # When the events are applied once, in order
    _reset(admin_sql)
    for event in events:
        consumer.consumer.deliver(event)
    in_order = _state(admin_sql)
    # And, from the same start, each twice in a shuffled order
    _reset(admin_sql)
    shuffled = events * 2
    random.Random(seed).shuffle(shuffled)
    for event in shuffled:
        consumer.consumer.deliver(event)

    # Then the read models and the retired items are the same
    assert _state(admin_sql) == in_order
    reasons = {row[0]: row[1] for row in in_order["items"]}
    assert reasons == {first: "LESSON_REMOVED", second: "LESSON_REMOVED", late: None}
