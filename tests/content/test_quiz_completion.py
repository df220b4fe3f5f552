"""A passed quiz completes its lesson (the Enrollment service's ``quizzes`` consumer).

The Content service's real ``QuizAttempted`` events are delivered to the Enrollment consumer
as SQS batches: once in order for one student, twice and shuffled for another who made the
same attempts; both end the same, each lesson completed once, ``EnrollmentCompleted`` once,
at 100%."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from functions.enrollment import consumer
from tests.content.conftest import (
    World,
    answers_to,
    attempt,
    enroll,
    outbox_events,
    published_quiz,
)
from tests.course.builders import ok, student
from tests.enrollment.conftest import sqs_batch
from tests.support import call

pytestmark = [pytest.mark.integration]


def feed(events: list[dict[str, Any]]) -> None:
    """The events as Lambda's SQS event source hands them over, ten to a batch."""
    for start in range(0, len(events), 10):
        messages = [
            {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": json.dumps(e)}
            for e in events[start : start + 10]
        ]
        result = consumer.handler(sqs_batch(messages, "arn:aws:sqs:us-east-1:1:q"), None)
        assert not result.get("batchItemFailures"), result


def quiz_events(admin_url: str, user: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for e in outbox_events(admin_url)
        if e["detail-type"] == "QuizAttempted" and e["detail"]["data"]["userId"] == user["sub"]
    ]


def enrollment_of(caller: dict[str, Any], enrollment_id: str) -> Any:
    return ok(call("GET", "/enrollments/{enrollmentId}", caller=caller,
                   path_params={"enrollmentId": enrollment_id}))  # fmt: skip


def announced(admin_sql: Any, enrollment_id: str) -> dict[str, int]:
    rows = admin_sql.run(
        "SELECT event_type, count(*) FROM lms_enrollment.outbox"
        " WHERE detail ->> 'aggregateId' = :id GROUP BY 1",
        id=enrollment_id,
    )
    return {kind: int(n) for kind, n in rows}


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_passed_quizzes_complete_their_lessons_once_whatever_the_delivery(
    world: World, deliver: Any, admin_sql: Any, admin_url: str, seed: int
) -> None:
    # Given a quiz on each of the course's two lessons, and two enrolled students
    first, quiz_1 = published_quiz(world, world.course.lesson_ids[0])
    second, quiz_2 = published_quiz(world, world.course.lesson_ids[1])
    twin = student()
    twin_enrollment = enroll(twin, world.course.id)
    deliver()
    # When both make the same attempts: fail, pass, pass again on the first; fail, then
    # pass on the second (answers scored by the Content service)
    for caller in (world.enrolled, twin):
        for item, quiz, right in ((first, quiz_1, 1), (first, quiz_1, 3), (first, quiz_1, 3),
                                  (second, quiz_2, 0), (second, quiz_2, 3)):  # fmt: skip
            ok(attempt(caller, item, answers_to(quiz, right)), 201)
    # And one student's events arrive once, in order; the other's twice, shuffled
    feed(quiz_events(admin_url, world.enrolled))
    repeated = quiz_events(admin_url, twin) * 2
    random.Random(seed).shuffle(repeated)
    feed(repeated)

    # Then both enrollments are complete, with each lesson done
    for caller, enrollment_id in ((world.enrolled, world.enrollment_id), (twin, twin_enrollment)):
        enrollment = enrollment_of(caller, enrollment_id)
        assert (enrollment["status"], enrollment["progressPct"]) == ("COMPLETED", 100.0)
        assert all(lesson["completedAt"] for lesson in enrollment["lessons"])
        # And each lesson was announced done once, the enrollment's completion once
        assert announced(admin_sql, enrollment_id) == {
            "EnrollmentCreated": 1,
            "LessonCompleted": 2,
            "EnrollmentCompleted": 1,
        }


def test_failed_attempts_complete_nothing(world: World, deliver: Any, admin_url: str) -> None:
    item, quiz = published_quiz(world)
    for right in (0, 1, 2):  # 66.67% is under the pass mark of 70
        ok(attempt(world.enrolled, item, answers_to(quiz, right)), 201)
    feed(quiz_events(admin_url, world.enrolled))
    enrollment = enrollment_of(world.enrolled, world.enrollment_id)
    assert enrollment["progressPct"] == 0.0
    assert not any(lesson["completedAt"] for lesson in enrollment["lessons"])


def test_a_pass_arriving_after_cancelling_completes_nothing(
    world: World, deliver: Any, admin_url: str
) -> None:
    item, quiz = published_quiz(world)
    ok(attempt(world.enrolled, item, answers_to(quiz, 3)), 201)
    ok(call("POST", "/enrollments/{enrollmentId}/cancel", caller=world.enrolled,
            path_params={"enrollmentId": world.enrollment_id}))  # fmt: skip
    feed(quiz_events(admin_url, world.enrolled))
    enrollment = enrollment_of(world.enrolled, world.enrollment_id)
    assert (enrollment["status"], enrollment["progressPct"]) == ("CANCELLED", 0.0)
