"""A course's assignments through the real handlers: made, read, listed, changed, archived,
deleted, and closed by what happens to their course (Course events over the bus)."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pytest

from tests.assignment.builders import (
    Classroom,
    all_pages,
    classroom,
    create_assignment,
    get_assignment,
    grade,
    new_assignment,
    submit,
    unknown,
    update_assignment,
)
from tests.assignment.conftest import Feeds
from tests.course.builders import add_lesson, ok
from tests.support import call, scalar

pytestmark = [pytest.mark.integration]


def observed(event_log: Any, **counts: int) -> None:
    """Drain the bus log until it holds at least ``counts[type]`` events of each type."""
    deadline = time.monotonic() + 5
    while True:
        event_log.drain(wait_seconds=0.1)
        if all(len(event_log.of_type(k)) >= n for k, n in counts.items()):
            return
        assert time.monotonic() < deadline, {k: len(event_log.of_type(k)) for k in counts}


def list_assignments(caller: Any, course_id: str, **query: str) -> Any:
    return call(
        "GET",
        "/courses/{courseId}/assignments",
        caller=caller,
        path_params={"courseId": course_id},
        query=query,
    )


def archive(caller: Any, assignment_id: str) -> Any:
    return call(
        "POST",
        "/assignments/{assignmentId}/archive",
        caller=caller,
        path_params={"assignmentId": assignment_id},
    )


def delete(caller: Any, assignment_id: str) -> Any:
    return call(
        "DELETE",
        "/assignments/{assignmentId}",
        caller=caller,
        path_params={"assignmentId": assignment_id},
    )


# --- creating -----------------------------------------------------------------------------


def test_a_teacher_adds_an_assignment_to_a_lesson_with_exact_scores(
    feeds: Feeds, event_log: Any
) -> None:
    room, _ = classroom(feeds)

    made = ok(
        create_assignment(
            room.teacher,
            room.id,
            title="Essay on engines",
            description="Two pages.",
            lessonId=room.lesson_ids[1],
            dueAt="2031-05-01T12:00:00+02:00",
            maxScore=87.5,
            passingScore="43.75",
        ),
        201,
    )

    assert made["title"] == "Essay on engines"
    assert (made["courseId"], made["lessonId"]) == (room.id, room.lesson_ids[1])
    assert made["dueAt"] == "2031-05-01T10:00:00Z"
    # Decimal strings on the way out, whatever the way in.
    assert (made["maxScore"], made["passingScore"]) == ("87.50", "43.75")
    assert (made["status"], made["closedReason"], made["version"]) == ("OPEN", None, 1)
    assert ok(get_assignment(room.enrolled, made["id"])) == made
    observed(event_log, AssignmentCreated=1)
    [created] = event_log.of_type("AssignmentCreated")
    data = created["detail"]["data"]
    assert (data["assignmentId"], data["maxScore"], data["passingScore"]) == (
        made["id"],
        "87.50",
        "43.75",
    )
    assert data["createdBy"] == room.teacher["sub"]


@pytest.mark.parametrize(
    "body",
    [
        {"maxScore": 0},
        {"maxScore": -1},
        {"maxScore": "1e6"},
        {"maxScore": 10.555},
        {"maxScore": "NaN"},
        {"maxScore": "Infinity"},
        {"maxScore": True},
        {"maxScore": 10, "passingScore": 10.01},
        {"maxScore": 10, "passingScore": -0.01},
        {"title": ""},
        {"dueAt": "2031-05-01T12:00:00"},  # a time without its offset
        {"lessonId": "not-a-uuid"},
        {"unknownField": 1},
    ],
)
def test_bad_scores_and_fields_are_422_and_make_nothing(
    feeds: Feeds, admin_sql: Any, body: dict[str, Any]
) -> None:
    room, _ = classroom(feeds)
    reply = create_assignment(room.teacher, room.id, **body)
    assert reply.status == 422, reply.body
    assert reply.content_type == "application/problem+json"
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.assignments") == 0


def test_a_passing_score_equal_to_the_maximum_and_zero_are_both_allowed(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    top = new_assignment(room, maxScore=10, passingScore=10)
    bottom = new_assignment(room, maxScore=10, passingScore=0)
    assert (top["passingScore"], bottom["passingScore"]) == ("10.00", "0.00")


def test_a_lesson_of_another_course_is_refused(feeds: Feeds, admin_sql: Any) -> None:
    room, _ = classroom(feeds)
    reply = create_assignment(room.teacher, room.id, lessonId=unknown())
    assert reply.status == 422
    assert reply.body["errors"][0]["location"] == ["body", "lessonId"]
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.assignments") == 0


def test_an_archived_or_unknown_course_takes_no_assignment(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    ok(
        call(
            "POST",
            "/courses/{courseId}/archive",
            caller=room.teacher,
            path_params={"courseId": room.id},
        )
    )
    feeds.pump()
    assert create_assignment(room.teacher, room.id).status == 409
    assert create_assignment(room.teacher, unknown()).status == 404


# --- reading --------------------------------------------------------------------------------


def test_a_courses_assignments_come_in_pages_in_the_order_they_were_made(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = [new_assignment(room, title=f"A{i}")["id"] for i in range(5)]
    other, _ = classroom(feeds)
    new_assignment(other)  # another course's: never listed

    for caller in (room.teacher, room.enrolled, room.cancelled):
        seen = all_pages(partial(list_assignments, caller, room.id), limit="2")
        assert [a["id"] for a in seen] == made
    first = ok(list_assignments(room.teacher, room.id, limit="2"))
    assert list_assignments(other.teacher, other.id, cursor=first["nextCursor"]).status == 400
    assert list_assignments(room.teacher, room.id, cursor="nope").status == 400
    assert list_assignments(room.teacher, room.id, limit="101").status == 422


# --- changing -------------------------------------------------------------------------------


def test_a_patch_changes_the_fields_sent_and_null_clears_the_optional_ones(
    feeds: Feeds, event_log: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(
        room, lessonId=room.lesson_ids[0], dueAt="2031-01-01T00:00:00Z", passingScore=50
    )

    moved = ok(update_assignment(room.teacher, made["id"], lessonId=room.lesson_ids[2]))
    cleared = ok(
        update_assignment(room.teacher, made["id"], dueAt=None, passingScore=None, lessonId=None)
    )
    renamed = ok(update_assignment(room.teacher, made["id"], title="Renamed", maxScore="20"))
    same = ok(update_assignment(room.teacher, made["id"], title="Renamed"))

    assert (moved["lessonId"], moved["dueAt"], moved["version"]) == (
        room.lesson_ids[2],
        "2031-01-01T00:00:00Z",
        2,
    )
    assert (cleared["lessonId"], cleared["dueAt"], cleared["passingScore"]) == (None, None, None)
    assert (renamed["title"], renamed["maxScore"], renamed["description"]) == (
        "Renamed",
        "20.00",
        "",
    )
    assert same == renamed  # nothing changed: no new version
    observed(event_log, AssignmentUpdated=3)
    updates = event_log.of_type("AssignmentUpdated")
    assert [e["detail"]["data"]["version"] for e in updates] == [2, 3, 4]


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"maxScore": None}, {"description": None}, {"passingScore": 101}],
)
def test_a_patch_that_would_break_a_rule_is_422(feeds: Feeds, body: dict[str, Any]) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    assert update_assignment(room.teacher, made["id"], **body).status == 422
    assert ok(get_assignment(room.teacher, made["id"]))["version"] == 1


def test_the_maximum_may_not_go_below_the_passing_score_nor_a_score_given(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room, maxScore=100, passingScore=60)
    lower = update_assignment(room.teacher, made["id"], maxScore=50)
    assert lower.status == 422
    assert lower.body["errors"][0]["location"] == ["body", "maxScore"]
    submission = ok(submit(room.enrolled, made["id"]), 201)
    ok(grade(room.teacher, submission["id"], 80))

    refused = update_assignment(room.teacher, made["id"], maxScore=79, passingScore=None)
    allowed = ok(update_assignment(room.teacher, made["id"], maxScore=80, passingScore=None))

    assert refused.status == 409
    assert allowed["maxScore"] == "80.00"


# --- archiving and deleting -----------------------------------------------------------------


def test_an_assignment_with_submissions_is_archived_not_deleted_and_keeps_its_history(
    feeds: Feeds, event_log: Any, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    submission = ok(submit(room.enrolled, made["id"]), 201)

    refused = delete(room.teacher, made["id"])
    archived = ok(archive(room.teacher, made["id"]))
    again = ok(archive(room.teacher, made["id"]))
    late_submission = submit(room.enrolled, made["id"])
    graded = grade(room.teacher, submission["id"], 70)

    assert refused.status == 409
    assert (archived["status"], archived["closedReason"]) == ("CLOSED", "ARCHIVED")
    assert again == archived
    assert late_submission.status == 409
    assert late_submission.body["reason"] == "ARCHIVED"
    assert graded.status == 200  # work handed in before is still graded
    assert update_assignment(room.teacher, made["id"], title="New").status == 409
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.submissions") == 1
    observed(event_log, AssignmentUpdated=1)
    [update] = event_log.of_type("AssignmentUpdated")
    assert update["detail"]["data"]["closedReason"] == "ARCHIVED"


def test_an_assignment_nobody_submitted_to_is_deleted(
    feeds: Feeds, event_log: Any, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)

    reply = delete(room.teacher, made["id"])

    assert (reply.status, reply.body) == (204, None)
    assert get_assignment(room.teacher, made["id"]).status == 404
    assert delete(room.teacher, made["id"]).status == 404
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.assignments") == 0
    observed(event_log, AssignmentDeleted=1)
    [deleted] = event_log.of_type("AssignmentDeleted")
    assert (deleted["detail"]["data"]["assignmentId"], deleted["detail"]["data"]["version"]) == (
        made["id"],
        2,
    )


# --- closed by its course -------------------------------------------------------------------


def _remove_lesson(room: Classroom, lesson_id: str) -> None:
    ok(
        call(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=room.teacher,
            path_params={"courseId": room.id, "lessonId": lesson_id},
        )
    )


def test_removing_its_lesson_closes_an_assignment_and_keeps_its_work(
    feeds: Feeds, event_log: Any
) -> None:
    room, _ = classroom(feeds)
    doomed = new_assignment(room, lessonId=room.lesson_ids[0])
    kept = new_assignment(room, lessonId=room.lesson_ids[1])
    loose = new_assignment(room)
    submission = ok(submit(room.enrolled, doomed["id"]), 201)

    _remove_lesson(room, room.lesson_ids[0])
    feeds.pump()

    closed = ok(get_assignment(room.enrolled, doomed["id"]))
    assert (closed["status"], closed["closedReason"]) == ("CLOSED", "LESSON_REMOVED")
    refused = submit(room.enrolled, doomed["id"])
    assert (refused.status, refused.body["reason"]) == (409, "LESSON_REMOVED")
    assert ok(get_assignment(room.enrolled, kept["id"]))["status"] == "OPEN"
    assert ok(get_assignment(room.enrolled, loose["id"]))["status"] == "OPEN"
    assert ok(grade(room.teacher, submission["id"], 90))["version"] == 1
    assert submit(room.enrolled, kept["id"]).status == 201
    # Teachers may not attach an assignment to the removed lesson again.
    assert update_assignment(room.teacher, kept["id"], lessonId=room.lesson_ids[0]).status == 422
    observed(event_log, AssignmentUpdated=1)
    [update] = event_log.of_type("AssignmentUpdated")
    assert (update["detail"]["data"]["assignmentId"], update["detail"]["data"]["status"]) == (
        doomed["id"],
        "CLOSED",
    )


def test_a_closed_assignment_moved_to_a_lesson_of_the_course_opens_again(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room, lessonId=room.lesson_ids[0])
    _remove_lesson(room, room.lesson_ids[0])
    feeds.pump()

    moved = ok(update_assignment(room.teacher, made["id"], lessonId=room.lesson_ids[1]))

    assert (moved["status"], moved["closedReason"]) == ("OPEN", None)
    assert submit(room.enrolled, made["id"]).status == 201


def test_archiving_the_course_closes_its_assignments_and_publishing_it_again_opens_them(
    feeds: Feeds,
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    params = {"courseId": room.id}

    ok(call("POST", "/courses/{courseId}/archive", caller=room.teacher, path_params=params))
    feeds.pump()
    closed = ok(get_assignment(room.enrolled, made["id"]))
    refused = submit(room.enrolled, made["id"])
    ok(call("POST", "/courses/{courseId}/publish", caller=room.teacher, path_params=params))
    feeds.pump()
    reopened = ok(get_assignment(room.enrolled, made["id"]))

    assert (closed["status"], closed["closedReason"]) == ("CLOSED", "COURSE_ARCHIVED")
    assert (refused.status, refused.body["reason"]) == (409, "COURSE_ARCHIVED")
    assert (reopened["status"], reopened["version"]) == ("OPEN", 3)
    assert submit(room.enrolled, made["id"]).status == 201


def test_a_lesson_added_meanwhile_can_take_an_assignment_once_it_is_known(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    lesson = add_lesson(room.teacher, room.id, room.course.module_ids[0], "Fresh")
    # The Course events have not reached the Assignment service yet.
    assert create_assignment(room.teacher, room.id, lessonId=lesson["id"]).status == 422
    feeds.pump()
    assert create_assignment(room.teacher, room.id, lessonId=lesson["id"]).status == 201
