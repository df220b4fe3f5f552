"""``make bench-analytics``: how fast the Analytics service counts, and how long a rebuild takes.

- Counting: SQS batches of ``CONSUMER_BATCH_SIZE`` events (the deployed batch size), a mix
  of the types a busy platform sends most (lessons completed, quiz attempts, enrollments,
  submissions, grades, payments, registrations) over 1,000 courses and 20,000 students,
  handed to the consumer's Lambda handler as Lambda's event source would. Each event is
  its own transaction: inbox row, snapshot, aggregates, active learners (and a grade). It
  reports events per second and the time per batch, after a warm-up.
- Rebuild: ``--snapshots`` (default 1,000,000) snapshots spread over a year, written
  straight into the partitions by SQL, then every day of that year rebuilt in order as
  ``lms analytics rebuild`` does (one REPEATABLE READ transaction a day). It reports the
  total time, snapshots per second and the longest day.

``python -m bench.analytics [--batches N] [--snapshots N]``. It uses the embedded
PostgreSQL unless LMS_DATABASE_URL names a server.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

COURSES = 1_000
STUDENTS = 20_000
WARM_UP_BATCHES = 20
YEAR_START = date(2025, 12, 1)
YEAR_DAYS = 364  # 52 whole ISO weeks from a Monday


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    os.environ["LMS_LOG_FORMAT"] = "text"

    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-analytics-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    admin_url = _prepare(workdir)
    counting = _count(args.batches)
    rebuild = _rebuild(admin_url, args.snapshots)
    print(json.dumps({"counting": counting, "rebuild": rebuild}, indent=2))
    return 0


def _prepare(workdir: Path) -> str:
    from functions.registry import SERVICES
    from lms_platform.migrations import migrate

    admin_url = os.environ.get("LMS_DATABASE_URL")
    if admin_url:
        from lms_local.postgres import drop_database, fresh_database

        admin_url = fresh_database(admin_url, "lms_bench_analytics")
        atexit.register(drop_database, admin_url)
    else:
        from lms_local.postgres import start_embedded

        admin_url, server = start_embedded(workdir / "pg", cleanup_mode="delete")
        atexit.register(server.cleanup)
    os.environ["LMS_DATABASE_URL"] = admin_url
    migrate(admin_url, list(SERVICES), {})
    return admin_url


# --- counting -------------------------------------------------------------------------------

# How often each event type comes, per 100 events.
MIX = {
    "LessonCompleted": 40,
    "QuizAttempted": 20,
    "EnrollmentCreated": 10,
    "SubmissionCreated": 10,
    "SubmissionGraded": 10,
    "InvoicePaid": 5,
    "UserRegistered": 5,
}


def _event(rnd: random.Random, courses: list[uuid.UUID], students: list[uuid.UUID]) -> Any:
    from lms_events import assignment, content, enrollment, payment, user

    kind = rnd.choices(list(MIX), weights=list(MIX.values()))[0]
    course, student, other = rnd.choice(courses), rnd.choice(students), uuid.uuid4()
    now = datetime.now(UTC)
    person = {"enrollment_id": other, "user_id": student, "course_id": course, "version": 1}
    if kind == "LessonCompleted":
        return enrollment.LessonCompleted(**person, lesson_id=other, completed_at=now,
                                          progress_pct=Decimal("40.00"))  # fmt: skip
    if kind == "EnrollmentCreated":
        return enrollment.EnrollmentCreated(**person, enrolled_at=now, reactivated=False)
    if kind == "QuizAttempted":
        return content.QuizAttempted(content_item_id=other, course_id=course, lesson_id=other,
                                     attempt_id=other, user_id=student, version_id=other,
                                     score_pct=Decimal("80.00"), pass_mark_pct=60,
                                     passed=rnd.random() < 0.7, correct_count=4,
                                     question_count=5, attempted_at=now)  # fmt: skip
    if kind == "SubmissionCreated":
        late = rnd.random() < 0.2
        return assignment.SubmissionCreated(submission_id=other, assignment_id=other,
                                            course_id=course, lesson_id=None, user_id=student,
                                            submitted_at=now, late=late,
                                            status="LATE" if late else "SUBMITTED")  # fmt: skip
    if kind == "SubmissionGraded":
        return assignment.SubmissionGraded(submission_id=other, assignment_id=other,
                                           course_id=course, lesson_id=None, user_id=student,
                                           score=Decimal(rnd.randint(0, 10)), max_score=Decimal(10),
                                           passing_score=None, passed=True, latest=True,
                                           version=1, graded_by=other, graded_at=now)  # fmt: skip
    if kind == "InvoicePaid":
        return payment.InvoicePaid(invoice_id=other, user_id=student, plan_id=other,
                                   plan_interval="month", amount=Decimal("19.90"),
                                   currency="USD", paid_at=now, payment_id=other)  # fmt: skip
    return user.UserRegistered(user_id=other, email="b@example.com", display_name="B",
                               roles=["STUDENT"], version=1)  # fmt: skip


def _record(data: Any) -> dict[str, Any]:
    from lms_events.envelope import Envelope

    envelope = Envelope.wrap(data, aggregate_id=uuid.uuid4())
    body = {"source": data.source, "detail-type": data.event_type,
            "detail": json.loads(envelope.detail_json())}  # fmt: skip
    return {
        "messageId": str(uuid.uuid4()), "receiptHandle": "r", "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:lms-local-analytics-events",
    }  # fmt: skip


def _count(batches: int) -> dict[str, Any]:
    from functions.analytics.consumer import handler
    from lms_platform.topology import CONSUMER_BATCH_SIZE

    rnd = random.Random(42)  # noqa: S311 (a repeatable mix, not a secret)
    courses = [uuid.uuid4() for _ in range(COURSES)]
    students = [uuid.uuid4() for _ in range(STUDENTS)]
    prepared = [
        {"Records": [_record(_event(rnd, courses, students)) for _ in range(CONSUMER_BATCH_SIZE)]}
        for _ in range(batches + WARM_UP_BATCHES)
    ]
    times = []
    for n, event in enumerate(prepared):
        started = time.perf_counter()
        result = handler(event, None)
        elapsed = time.perf_counter() - started
        assert not result.get("batchItemFailures"), result
        if n >= WARM_UP_BATCHES:
            times.append(elapsed)
    events = batches * CONSUMER_BATCH_SIZE
    return {
        "batch_size": CONSUMER_BATCH_SIZE,
        "batches": batches,
        "events_per_second": round(events / sum(times)),
        "batch_ms_median": round(statistics.median(times) * 1000, 1),
        "batch_ms_p95": round(sorted(times)[int(len(times) * 0.95)] * 1000, 1),
    }


# --- rebuilding -----------------------------------------------------------------------------

_SEED = """
INSERT INTO lms_analytics.event_snapshots
  (id, event_id, event_type, aggregate_id, payload, occurred_at)
SELECT gen_random_uuid(), e.id, e.type, '', jsonb_build_object(
         'eventId', e.id, 'eventType', e.type, 'occurredAt', e.at,
         'data', jsonb_build_object(
           'courseId', CAST(md5('course' || (g % :courses)) AS uuid),
           'userId', CAST(md5('student' || (g % :students)) AS uuid),
           'submissionId', CAST(md5('submission' || g) AS uuid),
           'passed', g % 3 <> 0, 'late', g % 5 = 0, 'version', 1,
           'score', (g % 11)::text, 'maxScore', '10', 'amount', '19.90', 'currency', 'USD')),
       e.at
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g,
LATERAL (SELECT gen_random_uuid() AS id,
                (ARRAY['LessonCompleted', 'LessonCompleted', 'LessonCompleted', 'LessonCompleted',
                       'QuizAttempted', 'QuizAttempted', 'EnrollmentCreated',
                       'SubmissionCreated', 'SubmissionGraded', 'InvoicePaid',
                       'UserRegistered', 'CourseUpdated'])[1 + g % 12] AS type,
                CAST(:start AS timestamptz) + make_interval(secs => (g * 31.5) % (:days * 86400))
                  AS at) AS e
"""


def _rebuild(admin_url: str, snapshots: int) -> dict[str, Any]:
    from functions.analytics import partitions, rebuild
    from lms_platform.db import open_connection, params_from_url

    sql = open_connection(params_from_url(admin_url), socket_timeout=3600)
    month = YEAR_START.replace(day=1)
    while month <= YEAR_START + timedelta(days=YEAR_DAYS):
        sql.run("SELECT lms_analytics.ensure_snapshot_partition(CAST(:m AS date))", m=month)
        month = partitions.add_months(month, 1)
    started = time.perf_counter()
    step = 100_000
    for first in range(1, snapshots + 1, step):
        sql.run(_SEED, first=first, last=min(snapshots, first + step - 1), courses=COURSES,
                students=STUDENTS, start=datetime.combine(YEAR_START, datetime.min.time(), UTC),
                days=YEAR_DAYS)  # fmt: skip
    sql.run("ANALYZE lms_analytics.event_snapshots")
    print(
        f"seeded {snapshots:,} snapshots in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )
    sql.run("TRUNCATE lms_analytics.aggregates, lms_analytics.active_learners")
    sql.close()

    chosen = rebuild.plan(YEAR_START, YEAR_START + timedelta(days=YEAR_DAYS - 1))
    runner = rebuild.start_here(chosen)
    days: list[float] = []
    last = time.perf_counter()

    def progress(done: Any, row: Any) -> None:
        nonlocal last
        now = time.perf_counter()
        days.append(now - last)
        last = now

    started = time.perf_counter()
    counted = rebuild.run_here(runner, progress)
    seconds = time.perf_counter() - started
    return {
        "snapshots": counted,
        "days": chosen.days,
        "seconds": round(seconds, 1),
        "snapshots_per_second": round(counted / seconds),
        "longest_day_ms": round(max(days) * 1000, 1),
        "median_day_ms": round(statistics.median(days) * 1000, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
