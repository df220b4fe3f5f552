"""Handing in work through the real handlers: on time or late, again until graded, bounded,
retried with an Idempotency-Key, refused to a cancelled enrollment; and the lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.assignment.builders import (
    all_pages,
    assignment_submissions,
    classroom,
    get_submission,
    grade,
    new_assignment,
    submit,
    unknown,
    update_assignment,
)
from tests.assignment.conftest import Feeds
from tests.assignment.test_assignments import observed
from tests.course.builders import ok
from tests.support import call, row_counts, scalar

pytestmark = [pytest.mark.integration]

TABLES = ("lms_assignment.submissions", "lms_assignment.outbox")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


# --- on time, late ---------------------------------------------------------------------------


def test_a_submission_one_second_past_the_due_date_is_late(feeds: Feeds, event_log: Any) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room, dueAt=_iso(datetime.now(UTC) + timedelta(minutes=5)))
    on_time = ok(submit(room.enrolled, made["id"]), 201)
    # The due date moved to one second before this submission.
    due = datetime.now(UTC) - timedelta(seconds=1)
    ok(update_assignment(room.teacher, made["id"], dueAt=_iso(due)))
    late = ok(submit(room.enrolled, made["id"]), 201)

    assert (on_time["status"], on_time["late"]) == ("SUBMITTED", False)
    assert (late["status"], late["late"]) == ("LATE", True)
    assert timedelta(0) < datetime.fromisoformat(late["submittedAt"]) - due < timedelta(seconds=3)
    observed(event_log, SubmissionCreated=2)
    assert [e["detail"]["data"]["late"] for e in event_log.of_type("SubmissionCreated")] == [
        False,
        True,
    ]


def test_without_a_due_date_nothing_is_late_and_late_stays_once_graded(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    open_ended = new_assignment(room)
    past = new_assignment(room, dueAt="2001-01-01T00:00:00Z")

    free = ok(submit(room.enrolled, open_ended["id"]), 201)
    late = ok(submit(room.enrolled, past["id"]), 201)
    ok(grade(room.teacher, late["id"], 10))
    graded = ok(get_submission(room.enrolled, late["id"]))

    assert (free["status"], free["late"]) == ("SUBMITTED", False)
    assert (graded["status"], graded["late"]) == ("GRADED", True)


# --- again, until graded ----------------------------------------------------------------------


def test_every_submission_is_kept_and_the_latest_counts_until_one_is_graded(
    feeds: Feeds, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    ids = [ok(submit(room.enrolled, made["id"], f"draft {n}"), 201)["id"] for n in range(3)]

    mine = all_pages(
        lambda **q: call("GET", "/me/submissions", caller=room.enrolled, query=q), limit="2"
    )
    assert [s["id"] for s in mine] == list(reversed(ids))
    assert [s["latest"] for s in mine] == [True, False, False]
    assert ok(get_submission(room.enrolled, ids[0]))["content"]["text"] == "draft 0"

    ok(grade(room.teacher, ids[1], 50))  # an earlier one graded: no more are taken
    refused = submit(room.enrolled, made["id"], "draft 3")

    assert refused.status == 409
    assert refused.body["title"] == "Already graded"
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.submissions") == 3
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.submissions WHERE latest") == 1


def test_after_grading_a_resubmission_is_409_and_changes_nothing(
    feeds: Feeds, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    first = ok(submit(room.enrolled, made["id"]), 201)
    ok(grade(room.teacher, first["id"], 100))
    before = row_counts(admin_sql, *TABLES)

    assert submit(room.enrolled, made["id"], "better").status == 409
    assert row_counts(admin_sql, *TABLES) == before


# --- bounded content ------------------------------------------------------------------------


def test_text_of_exactly_64_kib_of_utf8_is_taken_and_kept_as_sent(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    # Multi-byte characters, a newline and surrounding spaces: 5 + 3 * 21843 + 2 bytes.
    text = "  é\n" + "€" * 21843 + "  "
    assert len(text.encode()) == 65536

    made_submission = ok(submit(room.enrolled, made["id"], text), 201)

    assert ok(get_submission(room.enrolled, made_submission["id"]))["content"]["text"] == text


@pytest.mark.parametrize(
    "content",
    [
        {"text": "x" * 65537},
        {"text": "é" * 32769},  # 65,538 bytes in fewer characters
        {"links": [f"https://example.com/{n}" for n in range(21)]},
        {"links": ["ftp://example.com/file"]},
        {"links": ["javascript:alert(1)"]},
        {"links": ["file:///etc/passwd"]},
        {"links": ["https://"]},
        {"links": ["https://example.com/" + "a" * 2048]},
        {"links": [""]},
        {},
        {"text": "   "},
        {"text": None, "links": []},
        {"text": "hi", "extra": 1},
        {"text": 42},
    ],
)
def test_content_out_of_bounds_is_422_and_changes_nothing(
    feeds: Feeds, admin_sql: Any, content: dict[str, Any]
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    before = row_counts(admin_sql, *TABLES)

    reply = submit(room.enrolled, made["id"], content=content)

    assert reply.status == 422, reply.body
    assert reply.content_type == "application/problem+json"
    assert row_counts(admin_sql, *TABLES) == before


def test_twenty_http_or_https_links_are_taken_as_written(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    links = [f"https://Example.com/work/{n}?a=1#top" for n in range(19)] + ["http://example.org"]

    submission = ok(submit(room.enrolled, made["id"], None, links=links), 201)

    assert submission["content"] == {"text": None, "links": links}


def test_a_body_over_the_routes_limit_is_413(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    reply = submit(room.enrolled, made["id"], "x" * (600 * 1024))
    assert reply.status == 413


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_submission_and_makes_nothing(
    feeds: Feeds, event_log: Any, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)

    first = ok(submit(room.enrolled, made["id"], "answer", key="retry-1"), 201)
    again = ok(submit(room.enrolled, made["id"], "answer", key="retry-1"), 201)
    ok(grade(room.teacher, first["id"], 40))
    after_grading = ok(submit(room.enrolled, made["id"], "answer", key="retry-1"), 201)

    assert again == first
    assert after_grading["id"] == first["id"]
    assert after_grading["grade"]["score"] == "40.00"
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.submissions") == 1
    observed(event_log, SubmissionCreated=1, SubmissionGraded=1)
    assert len(event_log.of_type("SubmissionCreated")) == 1


def test_a_key_sent_with_another_request_is_409(feeds: Feeds, admin_sql: Any) -> None:
    room, _ = classroom(feeds)
    made, other = new_assignment(room), new_assignment(room)
    ok(submit(room.enrolled, made["id"], "answer", key="k-1"), 201)

    other_text = submit(room.enrolled, made["id"], "another answer", key="k-1")
    other_assignment = submit(room.enrolled, other["id"], "answer", key="k-1")
    someone_else = submit(room.cancelled, made["id"], "answer", key="k-1")

    assert (other_text.status, other_assignment.status) == (409, 409)
    assert other_text.body["title"] == "Idempotency-Key already used"
    assert someone_else.status == 409  # keys are the caller's: theirs is refused for cancelling
    assert someone_else.body["title"] == "Enrollment cancelled"
    assert scalar(admin_sql, "SELECT count(*) FROM lms_assignment.submissions") == 1


@pytest.mark.parametrize("key", ["k" * 256, "with space", "tab\tkey", "é"])
def test_a_malformed_key_is_422(feeds: Feeds, key: str) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    reply = submit(room.enrolled, made["id"], key=key)
    assert reply.status == 422
    assert reply.body["errors"][0]["location"] == ["header", "idempotency-key"]


# --- who may submit ---------------------------------------------------------------------------


def test_a_cancelled_enrollment_submits_no_more_but_still_sees_its_work(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    learner = room.enrolled
    submission = ok(submit(learner, made["id"]), 201)
    [enrollment] = ok(call("GET", "/me/enrollments", caller=learner))["items"]
    ok(
        call(
            "POST",
            "/enrollments/{enrollmentId}/cancel",
            caller=learner,
            path_params={"enrollmentId": enrollment["id"]},
        )
    )
    feeds.pump()

    refused = submit(learner, made["id"])

    assert (refused.status, refused.body["title"]) == (409, "Enrollment cancelled")
    assert ok(get_submission(learner, submission["id"]))["id"] == submission["id"]
    ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": room.id},
        ),
        201,
    )
    feeds.pump()
    assert submit(learner, made["id"]).status == 201  # enrolled again


def test_an_unknown_assignment_is_404(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    assert submit(room.enrolled, unknown()).status == 404


# --- the lists ------------------------------------------------------------------------------


def test_an_assignments_submissions_by_status_student_and_latest_newest_first(
    feeds: Feeds,
) -> None:
    room, students = classroom(feeds, students=2)
    ada, bob = students
    made = new_assignment(room, dueAt=_iso(datetime.now(UTC) + timedelta(minutes=5)))
    a1 = ok(submit(ada, made["id"], "a1"), 201)["id"]
    b1 = ok(submit(bob, made["id"], "b1"), 201)["id"]
    ok(update_assignment(room.teacher, made["id"], dueAt="2001-01-01T00:00:00Z"))
    a2 = ok(submit(ada, made["id"], "a2"), 201)["id"]  # late
    e1 = ok(submit(room.enrolled, made["id"], "e1"), 201)["id"]  # late
    ok(grade(room.teacher, b1, 60))

    def listed(**query: str) -> list[str]:
        items = all_pages(
            lambda **q: assignment_submissions(room.teacher, made["id"], **q), limit="1", **query
        )
        return [s["id"] for s in items]

    assert listed() == [e1, a2, b1, a1]
    assert listed(latest="true") == [e1, a2, b1]
    assert listed(status="LATE") == [e1, a2]
    assert listed(status="SUBMITTED") == [a1]
    assert listed(status="SUBMITTED", latest="true") == []
    assert listed(status="GRADED", latest="true") == [b1]
    assert listed(userId=ada["sub"]) == [a2, a1]
    assert listed(userId=ada["sub"], latest="true") == [a2]
    assert listed(userId=ada["sub"], status="SUBMITTED") == [a1]
    [graded] = ok(assignment_submissions(room.teacher, made["id"], status="GRADED"))["items"]
    assert graded["grade"] == {
        "score": "60.00",
        "passed": True,
        "gradedAt": graded["grade"]["gradedAt"],
    }
    first = ok(assignment_submissions(room.teacher, made["id"], limit="1"))
    crossed = assignment_submissions(
        room.teacher, made["id"], latest="true", cursor=first["nextCursor"]
    )
    assert crossed.status == 400  # a cursor belongs to the list it came from
    assert assignment_submissions(room.teacher, made["id"], status="NOPE").status == 422


def test_my_submissions_in_one_course_or_all(feeds: Feeds) -> None:
    room, _ = classroom(feeds)
    other, _ = classroom(feeds)
    learner = room.enrolled
    ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": other.id},
        ),
        201,
    )
    feeds.pump()
    here = ok(submit(learner, new_assignment(room)["id"]), 201)["id"]
    there = ok(submit(learner, new_assignment(other)["id"]), 201)["id"]
    ok(submit(other.enrolled, new_assignment(other)["id"]), 201)  # someone else's

    def mine(**query: str) -> list[str]:
        reply = call("GET", "/me/submissions", caller=learner, query=query)
        return [s["id"] for s in ok(reply)["items"]]

    assert mine() == [there, here]
    assert mine(cursor="") == [there, here]  # an empty cursor is the first page, as elsewhere
    assert mine(courseId=room.id) == [here]
    assert mine(courseId=other.id) == [there]
    assert mine(courseId=unknown()) == []
