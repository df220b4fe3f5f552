"""``make bench-recompute``: a course of 1,000,000 enrollments gains a lesson.

Each enrollment has done 5 of the course's 10 lessons. A ``LessonAdded`` reaches the
Enrollment consumer as an SQS record; the recompute then runs as the deployed one does:
chained tasks on the service's own queue (moto), each handed to the consumer's Lambda
handler with a 30 s context, as Lambda's event source would. Meanwhile a completer, in a
process of its own, completes lessons of enrollments just ahead of the recompute's keyset
-- the ones the next chunk is about to lock -- through the real use case.

What it reports, and how each figure is obtained:

- the longest chunk transaction: timed by the recompute itself, from BEGIN to COMMIT
  (its debug log line per chunk), and the sizes chunks settled on;
- the longest completion, its lock wait included: timed by the completer around the whole
  use case (one transaction; the lock wait is part of it, so this bounds the wait);
- the longest lock wait and transaction seen by PostgreSQL: ``pg_stat_activity`` sampled
  every 10 ms (a lower bound of the true longest: waits shorter than a sample are missed);
- the time from the event's delivery until every enrollment has converged (the recompute
  row finished, then checked row by row), and enrollments recomputed per second.

Both the longest chunk transaction and the longest completion must stay under 1 s.

``python -m bench.recompute [--enrollments N]`` (default 1,000,000; seeding takes a few
minutes). It uses the embedded PostgreSQL unless LMS_DATABASE_URL names a server.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

LESSONS = 10
DONE = 5
LAMBDA_TIMEOUT_SECONDS = 30.0  # the consumer's timeout on AWS
BUDGET_SECONDS = 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recompute")
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-recompute-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)  # runs last
    admin_url = _prepare(workdir)
    course_id, lessons = uuid.uuid4(), [uuid.uuid4() for _ in range(LESSONS + 1)]
    seed_seconds = _seed(admin_url, course_id, lessons[:LESSONS], args.enrollments)
    print(f"seeded {args.enrollments:,} enrollments in {seed_seconds:.0f} s", file=sys.stderr)

    chunks = _ChunkLog()
    sampler = _Sampler(admin_url)
    completer = _Completer(admin_url, course_id, lessons[DONE])
    sampler.start()
    completer.start()

    from functions.enrollment import consumer
    from lms_local.feeder import failed_ids, sqs_event
    from lms_local.lambdas import LambdaContext
    from lms_platform.aws import client
    from lms_platform.tasks import own_queue_url

    sqs, queue = client("sqs"), own_queue_url("enrollment")
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    started = time.perf_counter()
    outline = _lesson_added(course_id, lessons)
    result = consumer.handler(
        sqs_event([_message(json.dumps(outline))], arn, "us-east-1"),
        LambdaContext("lms-enrollment-consumer", timeout_seconds=LAMBDA_TIMEOUT_SECONDS),
    )
    assert not failed_ids(result), result
    outline_ms = (time.perf_counter() - started) * 1000

    invocations = 0
    while not _finished(admin_url, course_id):
        messages = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            continue
        invocations += 1
        context = LambdaContext("lms-enrollment-consumer", timeout_seconds=LAMBDA_TIMEOUT_SECONDS)
        failed = failed_ids(consumer.handler(sqs_event(messages, arn, "us-east-1"), context))
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    converged = time.perf_counter() - started
    completer.stop()
    sampler.stop()

    wrong = _wrong_rows(admin_url, course_id, lessons, completer.completed)
    durations = chunks.durations_ms
    results = {
        "enrollments": args.enrollments,
        "lessons": f"{DONE} of {LESSONS} done, then one added",
        "outline_event_ms (transaction + task sent)": round(outline_ms, 1),
        "chunks": len(durations),
        "task_invocations": invocations + 1,
        "chunk_transaction_ms": {
            "longest": round(max(durations), 1),
            "p50": round(statistics.median(durations), 1),
            "p99": round(_percentile(durations, 0.99), 1),
        },
        "chunk_size": {
            "min": min(chunks.sizes),
            "p50": int(statistics.median(chunks.sizes)),
            "max": max(chunks.sizes),
        },
        "concurrent_completions": {
            "count": len(completer.durations_ms),
            "longest_ms (lock wait included)": round(max(completer.durations_ms), 1),
            "p50_ms": round(statistics.median(completer.durations_ms), 1),
            "p99_ms": round(_percentile(completer.durations_ms, 0.99), 1),
        },
        "pg_stat_activity_sampled": {
            "longest_lock_wait_ms": round(sampler.longest_lock_wait * 1000, 1),
            "longest_transaction_ms": round(sampler.longest_transaction * 1000, 1),
        },
        "converged_seconds": round(converged, 1),
        "enrollments_per_second": round(args.enrollments / converged),
        "enrollments_not_converged": wrong,
    }
    print(json.dumps(results, indent=2))
    checks = {
        "longest chunk transaction < 1 s": max(durations) < BUDGET_SECONDS * 1000,
        "longest concurrent completion (with its lock wait) < 1 s": max(completer.durations_ms)
        < BUDGET_SECONDS * 1000,
        "every enrollment converged": wrong == 0,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'OVER'} {name}", file=sys.stderr)
    return 0 if all(checks.values()) else 1


# --- the environment ----------------------------------------------------------------------


def _prepare(workdir: Path) -> str:
    """A migrated database, moto with the Enrollment service's own queue, the environment."""
    from functions.registry import SERVICES
    from lms_platform import topology
    from lms_platform.migrations import migrate

    admin_url = os.environ.get("LMS_DATABASE_URL")
    if admin_url:
        from lms_local.postgres import drop_database, fresh_database

        admin_url = fresh_database(admin_url, "lms_bench_recompute")
        atexit.register(drop_database, admin_url)
    else:
        from lms_local.postgres import start_embedded

        admin_url, server = start_embedded(workdir / "pg", cleanup_mode="delete")
        atexit.register(server.cleanup)
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    atexit.register(moto.stop)
    host, port = moto.get_host_and_port()
    os.environ.update(
        {
            "LMS_DATABASE_URL": admin_url,
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    migrate(admin_url, list(SERVICES), {})
    from lms_platform.aws import client

    client("events").create_event_bus(Name=topology.EVENT_BUS)
    client("sqs").create_queue(
        QueueName=topology.queue_name("enrollment"),
        Attributes={"VisibilityTimeout": str(int(LAMBDA_TIMEOUT_SECONDS * 2))},
    )
    return admin_url


def _admin(admin_url: str) -> Any:
    from lms_platform.db import open_connection, params_from_url

    return open_connection(params_from_url(admin_url), timeout=600)


def _seed(admin_url: str, course_id: uuid.UUID, lessons: list[uuid.UUID], n: int) -> float:
    """The read model's course with its lessons; n enrollments with ``DONE`` lessons done."""
    started = time.perf_counter()
    admin = _admin(admin_url)
    admin.run("SET synchronous_commit = off")
    admin.run("SET maintenance_work_mem = '256MB'")
    admin.run(
        "INSERT INTO lms_enrollment.courses (id, status, title, slug, version, outline_version) "
        "VALUES (:c, 'PUBLISHED', 'A very open course', 'mooc', 1, 1)",
        c=course_id,
    )
    admin.run(
        "INSERT INTO lms_enrollment.course_lessons (course_id, lesson_id, position) "
        "SELECT :c, l, p FROM unnest(CAST(:ls AS uuid[])) WITH ORDINALITY AS t(l, p)",
        c=course_id,
        ls=lessons,
    )
    pct = round(100 * DONE / LESSONS, 2)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        admin.run(
            f"""
            WITH made AS (
              INSERT INTO lms_enrollment.enrollments
                (id, user_id, course_id, status, progress_pct)
              SELECT gen_random_uuid(), gen_random_uuid(), :c, 'ACTIVE', {pct}
              FROM generate_series(1, {size})
              RETURNING id
            )
            INSERT INTO lms_enrollment.lesson_progress
              (id, enrollment_id, lesson_id, completed_at)
            SELECT gen_random_uuid(), made.id, l, now()
            FROM made, unnest(CAST(:ls AS uuid[])) AS l
            """,
            c=course_id,
            ls=lessons[:DONE],
        )
    admin.run("VACUUM ANALYZE lms_enrollment.enrollments")
    admin.run("VACUUM ANALYZE lms_enrollment.lesson_progress")
    admin.close()
    return time.perf_counter() - started


def _lesson_added(course_id: uuid.UUID, lessons: list[uuid.UUID]) -> dict[str, Any]:
    """The ``LessonAdded`` of the course's 11th lesson, as EventBridge delivers it."""
    from lms_events.course import LessonAdded
    from lms_events.envelope import Envelope

    data = LessonAdded(
        course_id=course_id,
        version=2,
        lesson_id=lessons[-1],
        module_id=uuid.uuid4(),
        title="One more",
        type="video",
        duration_minutes=5,
        lesson_ids=lessons,
    )
    envelope = Envelope.wrap(data, aggregate_id=course_id)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": envelope.event_type,
        "source": envelope.source,
        "account": "123456789012",
        "time": envelope.occurred_at.isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": envelope.model_dump(mode="json", by_alias=True),
    }


def _message(body: str) -> dict[str, Any]:
    return {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "bench", "Body": body}


def _finished(admin_url: str, course_id: uuid.UUID) -> bool:
    admin = _admin(admin_url)
    try:
        rows = admin.run(
            "SELECT finished_at IS NOT NULL FROM lms_enrollment.outline_recomputes "
            "WHERE course_id = :c",
            c=course_id,
        )
        return bool(rows and rows[0][0])
    finally:
        admin.close()


def _wrong_rows(
    admin_url: str, course_id: uuid.UUID, lessons: list[uuid.UUID], touched: set[uuid.UUID]
) -> int:
    """Enrollments whose progress is not what their rows say: 5 of 11, or 6 of 11 for those
    the completer finished a lesson of."""
    admin = _admin(admin_url)
    try:
        rows = admin.run(
            """
            SELECT count(*) FROM lms_enrollment.enrollments e
            WHERE e.course_id = :c
              AND e.progress_pct <> CASE WHEN e.id = ANY(CAST(:touched AS uuid[]))
                                         THEN round(100.0 * 6 / 11, 2)
                                         ELSE round(100.0 * 5 / 11, 2) END
            """,
            c=course_id,
            touched=list(touched),
        )
        return int(rows[0][0])
    finally:
        admin.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- measuring ------------------------------------------------------------------------------


class _ChunkLog(logging.Handler):
    """Each chunk's transaction time, as the recompute logs it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.durations_ms: list[float] = []
        self.sizes: list[int] = []
        recompute = logging.getLogger("functions.enrollment.recompute")
        recompute.setLevel(logging.DEBUG)
        recompute.addHandler(self)
        recompute.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        chunk_ms = getattr(record, "chunk_ms", None)
        if chunk_ms is not None:
            self.durations_ms.append(float(chunk_ms))
            self.sizes.append(int(getattr(record, "chunk_size", 0)))


class _Sampler(threading.Thread):
    """``pg_stat_activity`` every 10 ms: the longest lock wait and transaction seen."""

    def __init__(self, admin_url: str) -> None:
        super().__init__(daemon=True)
        self.admin_url = admin_url
        self.longest_lock_wait = 0.0
        self.longest_transaction = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        admin = _admin(self.admin_url)
        while not self._halt.wait(0.01):
            rows = admin.run(
                """
                SELECT
                  COALESCE(max(EXTRACT(epoch FROM clock_timestamp() - query_start))
                           FILTER (WHERE wait_event_type = 'Lock'), 0),
                  COALESCE(max(EXTRACT(epoch FROM clock_timestamp() - xact_start)), 0)
                FROM pg_stat_activity
                WHERE usename = 'lms_enrollment' AND xact_start IS NOT NULL
                """
            )
            self.longest_lock_wait = max(self.longest_lock_wait, float(rows[0][0]))
            self.longest_transaction = max(self.longest_transaction, float(rows[0][1]))
        admin.close()

    def stop(self) -> None:
        self._halt.set()
        self.join()


class _Completer:
    """A process of its own (as a completion runs in a Lambda of its own, apart from the
    consumer's) that completes a lesson of enrollments just ahead of the recompute's keyset
    -- the ones the next chunk locks -- through the real use case, timing each."""

    def __init__(self, admin_url: str, course_id: uuid.UUID, lesson_id: uuid.UUID) -> None:
        context = multiprocessing.get_context("spawn")
        self._halt = context.Event()
        self._results: Any = context.Queue()
        self._process = context.Process(
            target=_complete_ahead,
            args=(admin_url, course_id, lesson_id, self._halt, self._results),
            daemon=True,
        )
        self.durations_ms: list[float] = []
        self.completed: set[uuid.UUID] = set()

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        self._halt.set()
        durations, completed = self._results.get(timeout=120)
        self._process.join(timeout=30)
        self.durations_ms = durations
        self.completed = {uuid.UUID(c) for c in completed}


def _complete_ahead(
    admin_url: str, course_id: uuid.UUID, lesson_id: uuid.UUID, halt: Any, results: Any
) -> None:
    from functions.enrollment import use_cases
    from lms_platform.http import Principal

    admin = _admin(admin_url)
    chance = random.Random(7)  # noqa: S311 (which enrollment to race, not a secret)
    durations: list[float] = []
    completed: set[str] = set()
    while not halt.wait(0.02):
        found = admin.run(
            """
            SELECT e.id, e.user_id FROM lms_enrollment.enrollments e
            WHERE e.course_id = :c AND e.id > COALESCE(
              (SELECT after_enrollment_id FROM lms_enrollment.outline_recomputes
               WHERE course_id = :c), CAST('00000000-0000-0000-0000-000000000000' AS uuid))
            ORDER BY e.id OFFSET :k LIMIT 1
            """,
            c=course_id,
            k=chance.randrange(0, 600),
        )
        if not found:
            continue
        enrollment_id, user_id = found[0]
        caller = Principal(user_id=user_id, roles=frozenset({"STUDENT"}))
        started = time.perf_counter()
        use_cases.complete_lesson(caller, enrollment_id, lesson_id)
        durations.append((time.perf_counter() - started) * 1000)
        completed.add(str(enrollment_id))
    admin.close()
    results.put((durations, sorted(completed)))


if __name__ == "__main__":
    raise SystemExit(main())
