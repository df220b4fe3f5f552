"""Twenty requests at once on one assignment, each thread an execution environment of its
own (its own connection): nothing lost, nothing doubled, no 5xx, and no submission ever
taken after a grade of the same student's work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from lms_platform.db import database
from tests.assignment.builders import classroom, grade, new_assignment, submit
from tests.assignment.conftest import Feeds
from tests.course.builders import ok
from tests.support import Reply

pytestmark = [pytest.mark.integration]


def at_once(requests: list[Callable[[], Reply]]) -> list[Reply]:
    """Run every request on a thread of its own, released together; their replies in order."""
    barrier = threading.Barrier(len(requests))
    replies: list[Reply | None] = [None] * len(requests)

    def worker(index: int) -> None:
        try:
            barrier.wait()
            replies[index] = requests[index]()
        finally:
            database("lms_assignment").discard_connection()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in replies), "a request did not finish"
    return [r for r in replies if r is not None]


def outbox(admin_sql: Any, event_type: str) -> list[dict[str, Any]]:
    rows = admin_sql.run(
        "SELECT detail -> 'data' FROM lms_assignment.outbox WHERE event_type = :t", t=event_type
    )
    return [r[0] for r in rows]


def test_twenty_students_submitting_at_once_are_all_kept(feeds: Feeds, admin_sql: Any) -> None:
    room, students = classroom(feeds, students=20)
    made = new_assignment(room)

    replies = at_once([lambda s=s: submit(s, made["id"], f"by {s['sub']}") for s in students])

    assert [r.status for r in replies] == [201] * 20, [r.body for r in replies]
    rows = admin_sql.run(
        "SELECT user_id::text, latest FROM lms_assignment.submissions "
        "WHERE assignment_id = CAST(:a AS uuid)",
        a=made["id"],
    )
    assert sorted(rows) == sorted([s["sub"], True] for s in students)
    assert len(outbox(admin_sql, "SubmissionCreated")) == 20


def test_one_student_submitting_twenty_times_at_once_keeps_twenty_and_one_latest(
    feeds: Feeds, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room)
    learner = room.enrolled

    replies = at_once([lambda n=n: submit(learner, made["id"], f"try {n}") for n in range(20)])

    assert [r.status for r in replies] == [201] * 20, [r.body for r in replies]
    rows = admin_sql.run(
        "SELECT id::text, latest FROM lms_assignment.submissions "
        "WHERE assignment_id = CAST(:a AS uuid) ORDER BY submitted_at, id",
        a=made["id"],
    )
    assert len(rows) == 20
    # The last one stamped is the one that counts: submissions take turns per student.
    assert [latest for _, latest in rows] == [False] * 19 + [True]
    assert len(outbox(admin_sql, "SubmissionCreated")) == 20


def test_ten_resubmissions_racing_ten_grades_lose_nothing_and_none_follows_a_grade(
    feeds: Feeds, admin_sql: Any
) -> None:
    room, students = classroom(feeds, students=10)
    made = new_assignment(room, maxScore=10)
    first = {s["sub"]: ok(submit(s, made["id"], "first"), 201)["id"] for s in students}

    requests: list[Callable[[], Reply]] = []
    for s in students:
        requests.append(lambda s=s: submit(s, made["id"], "second"))
        requests.append(lambda s=s: grade(room.teacher, first[s["sub"]], 7))
    replies = at_once(requests)

    resubmitted = {s["sub"]: replies[2 * i] for i, s in enumerate(students)}
    graded = [replies[2 * i + 1] for i in range(len(students))]
    assert [g.status for g in graded] == [200] * 10, [g.body for g in graded]
    assert {r.status for r in resubmitted.values()} <= {201, 409}
    events = {e["submissionId"]: e for e in outbox(admin_sql, "SubmissionGraded")}
    assert len(events) == 10
    for student_id, reply in resubmitted.items():
        grade_event = events[first[student_id]]
        if reply.status == 201:
            # The resubmission came first: the grade saw it was no longer the latest.
            assert grade_event["latest"] is False
        else:
            # The grade came first: the resubmission was refused, the graded one counts.
            assert reply.body["title"] == "Already graded"
            assert grade_event["latest"] is True
    taken = sum(r.status == 201 for r in resubmitted.values())
    counts = admin_sql.run(
        "SELECT count(*), count(*) FILTER (WHERE latest), "
        "(SELECT count(*) FROM lms_assignment.grades) FROM lms_assignment.submissions"
    )[0]
    assert counts == [10 + taken, 10, 10]
    assert len(outbox(admin_sql, "SubmissionCreated")) == 10 + taken
    # No submission stamped after a grade of the same student's work.
    after_grade = admin_sql.run(
        "SELECT count(*) FROM lms_assignment.submissions s "
        "JOIN lms_assignment.submissions gs ON gs.user_id = s.user_id "
        "  AND gs.assignment_id = s.assignment_id "
        "JOIN lms_assignment.grades g ON g.submission_id = gs.id "
        "WHERE s.submitted_at > g.first_graded_at"
    )[0][0]
    assert after_grade == 0


def test_twenty_grades_of_one_submission_at_once_are_twenty_versions(
    feeds: Feeds, admin_sql: Any
) -> None:
    room, _ = classroom(feeds)
    made = new_assignment(room, maxScore=100)
    submission = ok(submit(room.enrolled, made["id"]), 201)["id"]

    replies = at_once([lambda n=n: grade(room.teacher, submission, n + 1) for n in range(20)])

    assert [r.status for r in replies] == [200] * 20, [r.body for r in replies]
    assert sorted(r.body["version"] for r in replies) == list(range(1, 21))
    events = outbox(admin_sql, "SubmissionGraded")
    assert sorted(e["version"] for e in events) == list(range(1, 21))
    # Each version carries the score of the request that made it, and the newest is kept.
    by_version = {e["version"]: e["score"] for e in events}
    by_reply = {r.body["version"]: r.body["score"] for r in replies}
    assert by_version == by_reply
    kept = admin_sql.run("SELECT score::text, version FROM lms_assignment.grades")
    assert kept == [[by_version[20], 20]]
