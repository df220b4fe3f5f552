"""Fifty of the same request at once, through the real handlers on fifty threads (each its
own database connection, as fifty Lambda environments): one effect each.

- fifty enrollments of one student in one course: one enrollment, one EnrollmentCreated;
- fifty completions of one lesson: one progress row, one LessonCompleted;
- fifty grades of one submission with the same score: one grade event, one lesson
  completed by it;
- fifty payments of one invoice with one Idempotency-Key: one payment, one InvoicePaid.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_platform.db import database
from tests.assignment.builders import create_assignment, grade, submit
from tests.chaos import report
from tests.chaos.conftest import Bus
from tests.chaos.story import complete_lesson, simulator_env
from tests.course.builders import build_course, ok, student
from tests.support import Reply, as_caller, call, scalar

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

N = 50
FAULT = f"{N} concurrent identical requests"


def at_once(attempt: Any) -> Counter[int]:
    barrier = threading.Barrier(N)

    def one(_: int) -> Reply:
        barrier.wait()
        try:
            return attempt()  # type: ignore[no-any-return]
        finally:
            for s in SERVICES:
                database(s.role).discard_connection()

    with ThreadPoolExecutor(max_workers=N) as pool:
        return Counter(r.status for r in pool.map(one, range(N)))


def enroll(caller: dict[str, Any], course_id: str) -> Reply:
    return call(
        "POST",
        "/courses/{courseId}/enrollments",
        caller=caller,
        path_params={"courseId": course_id},
    )


def count(sql: Any, query: str, **params: Any) -> int:
    return int(scalar(sql, query, **params))


def test_fifty_identical_requests_have_one_effect_each(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any
) -> None:
    sql = admin_sql_module
    course = build_course(lessons_per_module=(3,))
    bus.settle()
    learner = student()
    # Fifty enrollments of one student in one course
    statuses = at_once(lambda: enroll(learner, course.id))
    enrollment = scalar(
        sql,
        "SELECT id::text FROM lms_enrollment.enrollments WHERE user_id = :u"
        " AND course_id = CAST(:c AS uuid)",
        u=learner["sub"],
        c=course.id,
    )
    report.record(FAULT, "enrollments: answers", "1x201, 49x409", _text(statuses))
    report.record(
        FAULT,
        "enrollments: rows",
        1,
        count(
            sql,
            "SELECT count(*) FROM lms_enrollment.enrollments WHERE course_id = CAST(:c AS uuid)",
            c=course.id,
        ),
    )
    report.record(
        FAULT,
        "enrollments: EnrollmentCreated events",
        1,
        count(
            sql,
            "SELECT count(*) FROM lms_enrollment.outbox WHERE event_type = 'EnrollmentCreated'"
            " AND detail->>'aggregateId' = :e",
            e=enrollment,
        ),
    )
    assert statuses == Counter({201: 1, 409: N - 1}), statuses
    # Fifty completions of one lesson
    lesson = course.lesson_ids[0]
    statuses = at_once(lambda: complete_lesson(learner, enrollment, lesson))
    report.record(FAULT, "lesson completions: answers", f"{N}x200", _text(statuses))
    rows = count(
        sql,
        "SELECT count(*) FROM lms_enrollment.lesson_progress WHERE enrollment_id ="
        " CAST(:e AS uuid) AND lesson_id = CAST(:l AS uuid)",
        e=enrollment,
        l=lesson,
    )
    report.record(FAULT, "lesson completions: progress rows", 1, rows)
    completed = count(
        sql,
        "SELECT count(*) FROM lms_enrollment.outbox WHERE event_type ="
        " 'LessonCompleted' AND detail->'data'->>'lessonId' = :l",
        l=lesson,
    )
    report.record(FAULT, "lesson completions: LessonCompleted events", 1, completed)
    assert statuses == Counter({200: N}) and rows == completed == 1
    # Fifty grades of one submission, the same score
    writer = student()
    ok(enroll(writer, course.id), 201)
    bus.settle()
    work = ok(create_assignment(course.owner, course.id, lessonId=course.lesson_ids[1]), 201)
    handed = ok(submit(writer, work["id"]), 201)
    statuses = at_once(lambda: grade(course.owner, handed["id"], 90))
    bus.settle()
    graded = count(
        sql,
        "SELECT count(*) FROM lms_assignment.outbox WHERE event_type ="
        " 'SubmissionGraded' AND detail->'data'->>'submissionId' = :s",
        s=handed["id"],
    )
    report.record(FAULT, "grades: answers", f"{N}x200", _text(statuses))
    report.record(FAULT, "grades: SubmissionGraded events (a repeat is no new version)", 1, graded)
    by_grade = count(
        sql,
        "SELECT count(*) FROM lms_enrollment.lesson_progress p JOIN "
        "lms_enrollment.enrollments e ON e.id = p.enrollment_id WHERE e.user_id = :u"
        " AND p.lesson_id = CAST(:l AS uuid)",
        u=writer["sub"],
        l=course.lesson_ids[1],
    )
    report.record(FAULT, "grades: lesson completed by the grade (progress rows)", 1, by_grade)
    assert statuses == Counter({200: N}) and graded == by_grade == 1
    # Fifty payments of one invoice with one Idempotency-Key
    env = simulator_env()
    next(env)
    try:
        boss, buyer = as_caller(uuid.uuid4(), "ADMIN"), as_caller(uuid.uuid4(), "STUDENT")
        body = {"name": "Pro", "price": "9.90", "currency": "USD", "interval": "month"}
        plan = ok(call("POST", "/plans", caller=boss, body=body), 201)
        invoice = ok(call("POST", "/invoices", caller=buyer, body={"planId": plan["id"]}), 201)
        key = str(uuid.uuid4())
        statuses = at_once(
            lambda: call(
                "POST",
                "/invoices/{invoiceId}/payments",
                caller=buyer,
                path_params={"invoiceId": invoice["id"]},
                body={"paymentMethod": "pm_card_visa"},
                headers={"idempotency-key": key},
            )
        )
    finally:
        next(env, None)
    paid = count(
        sql,
        "SELECT count(*) FROM lms_payment.payments WHERE invoice_id ="
        " CAST(:i AS uuid) AND status = 'SUCCEEDED'",
        i=invoice["id"],
    )
    events = count(
        sql,
        "SELECT count(*) FROM lms_payment.outbox WHERE event_type = 'InvoicePaid'"
        " AND detail->>'aggregateId' = :i",
        i=invoice["id"],
    )
    report.record(
        FAULT,
        "payments with one key: answers",
        "201 first, then 201 replays or 409",
        _text(statuses),
        holds=set(statuses) <= {201, 409},
    )
    report.record(FAULT, "payments with one key: payments that succeeded", 1, paid)
    report.record(FAULT, "payments with one key: InvoicePaid events", 1, events)
    assert set(statuses) <= {201, 409} and paid == events == 1


def _text(statuses: Counter[int]) -> str:
    return ", ".join(f"{n}x{s}" for s, n in sorted(statuses.items()))
