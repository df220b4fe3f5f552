"""Twenty completions of one enrollment at once: the right progress, no 5xx; and the round
trips behind one completion."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.course.builders import build_course, ok, student
from tests.course.roundtrips import counting_round_trips
from tests.enrollment.conftest import CourseFeed
from tests.support import Reply, call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]


def complete(caller: dict[str, Any], enrollment_id: str, lesson_id: str) -> Reply:
    return call(
        "PUT",
        "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
        caller=caller,
        path_params={"enrollmentId": enrollment_id, "lessonId": lesson_id},
    )


def test_twenty_concurrent_completions_give_the_right_progress_and_no_5xx(
    course_feed: CourseFeed, event_log: Any, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(10, 10, 5))  # 25 lessons: 4% each
    course_feed.pump()
    learner = student()
    enrollment_id = ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": course.id},
        ),
        201,
    )["id"]
    # Twenty requests for sixteen lessons: four of them twice, racing their own repeat.
    targets = course.lesson_ids[:16] + course.lesson_ids[:4]
    barrier = threading.Barrier(len(targets))
    replies: list[Reply] = []
    lock = threading.Lock()

    def worker(lesson_id: str) -> None:
        barrier.wait()  # all twenty leave together
        reply = complete(learner, enrollment_id, lesson_id)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=worker, args=(lesson,)) for lesson in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(replies) == 20
    assert [r.status for r in replies] == [200] * 20, [r.body for r in replies if r.status != 200]
    final = ok(
        call(
            "GET",
            "/enrollments/{enrollmentId}",
            caller=learner,
            path_params={"enrollmentId": enrollment_id},
        )
    )
    assert final["progressPct"] == 64.0  # 16 of 25
    assert final["status"] == "ACTIVE"
    assert max(r.body["progressPct"] for r in replies) == 64.0
    done = admin_sql.run(
        "SELECT count(*) FROM lms_enrollment.lesson_progress "
        "WHERE enrollment_id = CAST(:id AS uuid) AND completed_at IS NOT NULL",
        id=enrollment_id,
    )[0][0]
    assert done == 16
    # Each lesson announced once, with the progress it brought: 4, 8, ..., 64.
    event_log.drain(wait_seconds=0.5)
    deadline_hits = 0
    while len(event_log.of_type("LessonCompleted")) < 16 and deadline_hits < 40:
        event_log.drain(wait_seconds=0.1)
        deadline_hits += 1
    announced = event_log.of_type("LessonCompleted")
    assert len(announced) == 16
    assert sorted(float(e["detail"]["data"]["progressPct"]) for e in announced) == [
        4.0 * n for n in range(1, 17)
    ]


def test_round_trips_of_a_lesson_completion(
    course_feed: CourseFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN, lock, mark + recompute, outbox row, response read, COMMIT: six; then the
    published mark after PutEvents: seven. A repeat writes no event: five."""
    course = build_course(lessons_per_module=(3,))
    course_feed.pump()
    learner = student()
    enrollment_id = ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": course.id},
        ),
        201,
    )["id"]
    ok(complete(learner, enrollment_id, course.lesson_ids[0]))  # warm every statement

    with counting_round_trips(monkeypatch) as new:
        ok(complete(learner, enrollment_id, course.lesson_ids[1]))
    with counting_round_trips(monkeypatch) as repeat:
        ok(complete(learner, enrollment_id, course.lesson_ids[1]))

    assert new.count == 7
    assert repeat.count == 5


def test_warm_enrollment_reads_are_one_round_trip_each(
    course_feed: CourseFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = build_course(lessons_per_module=(2,))
    course_feed.pump()
    learner = student()
    enrollment_id = ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": course.id},
        ),
        201,
    )["id"]

    def read_both() -> None:
        ok(call("GET", "/me/enrollments", caller=learner))
        ok(
            call(
                "GET",
                "/enrollments/{enrollmentId}",
                caller=learner,
                path_params={"enrollmentId": enrollment_id},
            )
        )

    read_both()  # warm
    with counting_round_trips(monkeypatch) as trips:
        read_both()

    assert trips.count == 2
