"""A course's lessons change under its enrollments: progress is recomputed in chunks, each
its own transaction, chained as tasks through the service's own queue -- and converges to
what the rows say, with completions racing the chunks, a newer lesson list arriving
mid-way, and task messages delivered twice, late and shuffled.

The chunks are small here (``CHUNK_SIZE`` patched) and each task gets no time beyond its
first chunk (a budget of 0 s), so every chunk is a task of its own and the chain is long.
What is expected is computed from the Course service's own lessons and the
``lesson_progress`` rows, not from the Enrollment service's read model.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from functions.enrollment import consumer, recompute
from functions.registry import SERVICES
from lms_platform import tasks
from lms_platform.aws import client
from tests.course.builders import BuiltCourse, add_lesson, build_course, ok
from tests.enrollment.conftest import CourseFeed, sqs_batch
from tests.support import Reply, as_caller, call

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

ENROLLMENTS = 150
CHUNK = 7


@pytest.fixture(autouse=True)
def one_chunk_per_task(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHUNK_SIZE", "MIN_CHUNK_SIZE", "MAX_CHUNK_SIZE"):
        monkeypatch.setattr(recompute, name, CHUNK)
    monkeypatch.setattr(tasks, "DEFAULT_BUDGET_SECONDS", 0.0)


def seed(admin_sql: Any, course: BuiltCourse, n: int = ENROLLMENTS) -> dict[str, dict[str, Any]]:
    """``n`` enrollments of the course, as rows: most with the first two lessons done
    (ACTIVE), every fifth with all of them (COMPLETED), every seventh CANCELLED."""
    seeded: dict[str, dict[str, Any]] = {}
    lessons = course.lesson_ids
    for i in range(n):
        status = "CANCELLED" if i % 7 == 3 else "COMPLETED" if i % 5 == 0 else "ACTIVE"
        done = lessons if status == "COMPLETED" else lessons[:2]
        enrollment_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        admin_sql.run(
            "INSERT INTO lms_enrollment.enrollments (id, user_id, course_id, status, "
            "progress_pct, completed_at) VALUES (CAST(:e AS uuid), CAST(:u AS uuid), "
            "CAST(:c AS uuid), :s, :p, CASE WHEN :s = 'COMPLETED' THEN now() END)",
            e=enrollment_id,
            u=user_id,
            c=course.id,
            s=status,
            p=round(100 * len(done) / len(lessons), 2),
        )
        admin_sql.run(
            "INSERT INTO lms_enrollment.lesson_progress (id, enrollment_id, lesson_id, "
            "completed_at) SELECT gen_random_uuid(), CAST(:e AS uuid), l, now() "
            "FROM unnest(CAST(:ls AS uuid[])) AS l",
            e=enrollment_id,
            ls=done,
        )
        seeded[enrollment_id] = {"user_id": user_id, "status": status}
    return seeded


def expected(admin_sql: Any, course_id: str) -> dict[str, tuple[str, str]]:
    """``{enrollment: (progress, status)}`` as the rows say: the lessons the Course service
    has now, the lessons each enrollment has done."""
    lessons = {
        r[0]
        for r in admin_sql.run(
            "SELECT l.id::text FROM lms_course.lessons l "
            "JOIN lms_course.modules m ON m.id = l.module_id WHERE m.course_id = CAST(:c AS uuid)",
            c=course_id,
        )
    }
    done: dict[str, set[str]] = {}
    rows = admin_sql.run(
        "SELECT e.id::text, e.status, lp.lesson_id::text FROM lms_enrollment.enrollments e "
        "LEFT JOIN lms_enrollment.lesson_progress lp "
        "  ON lp.enrollment_id = e.id AND lp.completed_at IS NOT NULL "
        "WHERE e.course_id = CAST(:c AS uuid)",
        c=course_id,
    )
    cancelled = {r[0] for r in rows if r[1] == "CANCELLED"}
    for enrollment_id, _, lesson in rows:
        done.setdefault(enrollment_id, set())
        if lesson is not None:
            done[enrollment_id].add(lesson)
    result = {}
    for enrollment_id, finished in done.items():
        n = len(finished & lessons)
        pct = (Decimal(100) * n / len(lessons)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        status = "COMPLETED" if n == len(lessons) else "ACTIVE"
        result[enrollment_id] = (str(pct), "CANCELLED" if enrollment_id in cancelled else status)
    return result


def actual(admin_sql: Any, course_id: str) -> dict[str, tuple[str, str]]:
    rows = admin_sql.run(
        "SELECT id::text, progress_pct::text, status FROM lms_enrollment.enrollments "
        "WHERE course_id = CAST(:c AS uuid)",
        c=course_id,
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def recompute_row(admin_sql: Any, course_id: str) -> dict[str, Any]:
    rows = admin_sql.run(
        "SELECT outline_version, chunks, enrollments, finished_at IS NOT NULL "
        "FROM lms_enrollment.outline_recomputes WHERE course_id = CAST(:c AS uuid)",
        c=course_id,
    )
    if not rows:
        return {}
    version, chunks, enrollments, finished = rows[0]
    return {"version": version, "chunks": chunks, "enrollments": enrollments, "finished": finished}


def kept_outline_version(admin_sql: Any, course_id: str) -> int:
    return int(
        admin_sql.run(
            "SELECT outline_version FROM lms_enrollment.courses WHERE id = CAST(:c AS uuid)",
            c=course_id,
        )[0][0]
    )


def is_task(body: str) -> bool:
    return tasks.BODY_KEY in json.loads(body)


def remove_lesson(course: BuiltCourse, lesson_id: str) -> None:
    ok(
        call(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=course.owner,
            path_params={"courseId": course.id, "lessonId": lesson_id},
        )
    )


def receive(feed: CourseFeed) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        client("sqs")
        .receive_message(QueueUrl=feed.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        .get("Messages", [])
    )
    return messages


def handle(feed: CourseFeed, bodies: list[str]) -> None:
    messages = [{"MessageId": str(uuid.uuid4()), "ReceiptHandle": "r", "Body": b} for b in bodies]
    result = consumer.handler(sqs_batch(messages, feed.queue_arn), None)
    assert result["batchItemFailures"] == []


def delete(feed: CourseFeed, messages: list[dict[str, Any]]) -> None:
    for m in messages:
        client("sqs").delete_message(QueueUrl=feed.queue_url, ReceiptHandle=m["ReceiptHandle"])


# --- the rule, in small -----------------------------------------------------------------------


def test_a_lesson_added_recomputes_every_enrollment_chunk_by_chunk_through_the_queue(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(2, 2))
    course_feed.pump()
    seed(admin_sql, course, n=40)
    course_feed.delivered.clear()

    add_lesson(course.owner, course.id, course.module_ids[0], "Fifth")
    course_feed.pump()

    assert actual(admin_sql, course.id) == expected(admin_sql, course.id)
    # 40 enrollments in chunks of 7: 6 chunks, the last one short; each chunk its own task,
    # each chained task written in the transaction of the chunk before it.
    tasks_run = [d for d in course_feed.delivered if tasks.BODY_KEY in d]
    assert len(tasks_run) == 6
    assert recompute_row(admin_sql, course.id) == {
        "version": kept_outline_version(admin_sql, course.id),
        "chunks": 6,
        "enrollments": 40,
        "finished": True,
    }
    task_rows = admin_sql.run(
        "SELECT count(*) FROM lms_enrollment.outbox WHERE destination = 'queue' "
        "AND published_at IS NOT NULL AND (detail -> 'lmsTask' -> 'payload' ->> 'outlineVersion')"
        "::int = :v",
        v=kept_outline_version(admin_sql, course.id),
    )[0][0]
    assert task_rows == 6


def test_a_reorder_starts_no_recompute(course_feed: CourseFeed, admin_sql: Any) -> None:
    course = build_course(lessons_per_module=(2,))
    course_feed.pump()
    seed(admin_sql, course, n=5)
    before = recompute_row(admin_sql, course.id)

    ok(
        call(
            "PUT",
            "/courses/{courseId}/modules/{moduleId}/lessons/order",
            caller=course.owner,
            path_params={"courseId": course.id, "moduleId": course.module_ids[0]},
            body={"lessonIds": list(reversed(course.lesson_ids))},
        )
    )
    assert course_feed.pump() == 1  # the event alone: no task

    assert recompute_row(admin_sql, course.id) == before


def test_a_task_for_an_older_lesson_list_stops_and_the_newer_list_is_applied_whole(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(2, 2))
    course_feed.pump()
    seed(admin_sql, course, n=30)
    add_lesson(course.owner, course.id, course.module_ids[0], "Fifth")
    [added] = receive(course_feed)
    handle(course_feed, [added["Body"]])  # the lesson list kept; its first task sent
    delete(course_feed, [added])
    [first_task] = receive(course_feed)
    delete(course_feed, [first_task])
    remove_lesson(course, course.lesson_ids[0])
    course_feed.pump()  # the newer lesson list, and its whole recompute
    done = recompute_row(admin_sql, course.id)
    settled = actual(admin_sql, course.id)

    handle(course_feed, [first_task["Body"]])  # the older list's task, late

    assert recompute_row(admin_sql, course.id) == done
    assert done["enrollments"] == 30
    assert done["version"] == kept_outline_version(admin_sql, course.id)
    assert actual(admin_sql, course.id) == settled == expected(admin_sql, course.id)


def test_a_completion_while_chunks_are_pending_is_right_at_once(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(2, 2))
    course_feed.pump()
    seeded = seed(admin_sql, course, n=10)
    finished = next(e for e, s in seeded.items() if s["status"] == "COMPLETED")
    halfway = next(e for e, s in seeded.items() if s["status"] == "ACTIVE")
    two_more = [
        add_lesson(course.owner, course.id, course.module_ids[1], f"New {n}")["id"] for n in (1, 2)
    ]
    for message in receive(course_feed):  # the lesson lists kept, no chunk run yet
        if not is_task(message["Body"]):
            handle(course_feed, [message["Body"]])
            delete(course_feed, [message])

    def complete(enrollment: str, lesson: str) -> Reply:
        return call(
            "PUT",
            "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
            caller=as_caller(seeded[enrollment]["user_id"], "STUDENT"),
            path_params={"enrollmentId": enrollment, "lessonId": lesson},
        )

    # Completed (4 of 4) before; one of the two new lessons done: 5 of 6, ACTIVE again.
    grown = ok(complete(finished, two_more[0]))
    assert (grown["progressPct"], grown["status"], grown["completedAt"]) == (83.33, "ACTIVE", None)
    # Half way (2 of 4) before: 3 of 6.
    assert ok(complete(halfway, course.lesson_ids[2]))["progressPct"] == 50.0

    course_feed.pump()
    assert actual(admin_sql, course.id)[finished] == ("83.33", "ACTIVE")
    assert actual(admin_sql, course.id) == expected(admin_sql, course.id)


# --- everything at once -------------------------------------------------------------------------


class Completer(threading.Thread):
    """Students completing random lessons of their enrollments, through the route."""

    def __init__(self, course: BuiltCourse, seeded: dict[str, dict[str, Any]], lessons: list[str]):
        super().__init__(daemon=True)
        self.course, self.seeded, self.lessons = course, seeded, lessons
        self.replies: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        chance = random.Random(11)
        enrollments = sorted(self.seeded)
        while not self.halt.is_set() and len(self.replies) < 400:
            enrollment = chance.choice(enrollments)
            reply = call(
                "PUT",
                "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
                caller=as_caller(self.seeded[enrollment]["user_id"], "STUDENT"),
                path_params={"enrollmentId": enrollment, "lessonId": chance.choice(self.lessons)},
            )
            self.replies.append(reply.status)


def test_completions_racing_the_chunks_and_a_newer_lesson_list_mid_way_converge(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(2, 2))
    course_feed.pump()
    seeded = seed(admin_sql, course)
    fifth = add_lesson(course.owner, course.id, course.module_ids[1], "Fifth")["id"]
    completer = Completer(course, seeded, [*course.lesson_ids, fifth])
    chance = random.Random(5)
    seen_tasks: list[str] = []
    duplicates = late = 0
    removed_mid_way: dict[str, Any] | None = None

    completer.start()
    while messages := receive(course_feed):
        bodies = [m["Body"] for m in messages]
        fresh_tasks = [b for b in bodies if is_task(b)]
        # Some tasks delivered twice at the same time (two invocations), an old one late.
        twins = [b for b in fresh_tasks if chance.random() < 0.4]
        stale = [chance.choice(seen_tasks)] if seen_tasks and chance.random() < 0.3 else []
        seen_tasks += fresh_tasks
        duplicates, late = duplicates + len(twins), late + len(stale)
        shuffled = bodies + stale
        chance.shuffle(shuffled)
        twin = threading.Thread(target=handle, args=(course_feed, twins)) if twins else None
        if twin:
            twin.start()
        handle(course_feed, shuffled)
        if twin:
            twin.join()
        delete(course_feed, messages)
        row = recompute_row(admin_sql, course.id)
        if removed_mid_way is None and row and row["chunks"] >= 4:
            removed_mid_way = row
            remove_lesson(course, course.lesson_ids[0])  # a newer lesson list, mid-way
    completer.halt.set()
    completer.join(timeout=60)
    course_feed.pump()

    assert removed_mid_way is not None and not removed_mid_way["finished"]
    assert duplicates > 0 and late > 0
    statuses = set(completer.replies)
    assert statuses <= {200, 404, 409}, statuses  # 404: a removed lesson; 409: cancelled
    assert completer.replies.count(200) > 20

    assert actual(admin_sql, course.id) == expected(admin_sql, course.id)
    final = recompute_row(admin_sql, course.id)
    # The newer list's recompute went over every enrollment exactly once, repeats or not.
    assert final["finished"] and final["enrollments"] == ENROLLMENTS
    assert final["version"] == kept_outline_version(admin_sql, course.id)

    announced = [
        (r[0], int(r[1]))
        for r in admin_sql.run(
            "SELECT detail -> 'data' ->> 'enrollmentId', detail -> 'data' ->> 'version' "
            "FROM lms_enrollment.outbox WHERE event_type = 'EnrollmentCompleted'"
        )
    ]
    assert len(announced) == len(set(announced)), "a completion announced twice"
    now_completed = {e for e, (_, s) in actual(admin_sql, course.id).items() if s == "COMPLETED"}
    newly = now_completed - {e for e, s in seeded.items() if s["status"] == "COMPLETED"}
    assert newly <= {e for e, _ in announced}


# --- what the operator sees -----------------------------------------------------------------


def test_lms_outbox_status_shows_unsent_rows_and_the_chunks_a_recompute_has_left(
    course_feed: CourseFeed,
    admin_sql: Any,
    override_env: Any,
    platform_env: dict[str, str],
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lms_local.cli import main

    course = build_course(lessons_per_module=(2, 2), title="Big Open Course")
    course_feed.pump()
    seed(admin_sql, course, n=12)
    add_lesson(course.owner, course.id, course.module_ids[0], "Fifth")
    # The queue is gone when the lesson list is kept: its first task waits in the outbox.
    missing = f"{platform_env['AWS_ENDPOINT_URL']}/123456789012/test-gone-{uuid.uuid4().hex}"
    override_env("LMS_OWN_QUEUE_URL", missing)
    messages = receive(course_feed)
    handle(course_feed, [m["Body"] for m in messages])

    capsys.readouterr()  # the log lines of the work above
    assert main(["--state-dir", str(tmp_path), "outbox", "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)

    waiting = {o["service"]: o for o in report["outbox"]}
    assert set(waiting) == {s.name for s in SERVICES}
    assert (waiting["enrollment"]["events"], waiting["enrollment"]["tasks"]) == (0, 1)
    assert waiting["enrollment"]["oldest_seconds"] >= 0
    assert waiting["course"]["oldest_seconds"] is None
    [running] = report["recomputes"]
    assert running["course_id"] == course.id and running["title"] == "Big Open Course"
    assert (running["chunks_done"], running["enrollments_left"]) == (0, 12)
    assert running["chunks_left"] == 2  # 12 in chunks of 7

    assert main(["--state-dir", str(tmp_path), "outbox", "status"]) == 0
    text = capsys.readouterr().out
    assert "enrollment" in text and course.id in text and "Big Open Course" in text
