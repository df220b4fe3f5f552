"""The series routes: who may read them, what they answer, and what they refuse."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.analytics import consumer as analytics_consumer
from lms_events import payment
from tests.analytics.events import at, bus_event
from tests.analytics.test_counting import enrolled
from tests.content.conftest import outbox_events
from tests.course.builders import admin, build_course, instructor, student
from tests.support import Reply, call


def course_series(caller: Any, course_id: str, **query: str) -> Reply:
    return call(
        "GET", "/analytics/courses/{courseId}", caller=caller,
        path_params={"courseId": course_id}, query=query,
    )  # fmt: skip


def platform_series(caller: Any, **query: str) -> Reply:
    return call("GET", "/analytics/platform", caller=caller, query=query)


@pytest.fixture
def course(db_clean: None, admin_url: str, analytics: Any) -> Any:
    """A published course whose teachers Analytics learned from the Course events, with
    two enrollments counted on 2026-11-30 and one on 2026-12-02."""
    built = build_course(lessons_per_module=(1,))
    for event in outbox_events(admin_url):
        analytics.deliver(event)
    course_id = uuid.UUID(built.id)
    for when in (
        "2026-11-30T08:00:00+00:00",
        "2026-11-30T09:00:00+00:00",
        "2026-12-02T01:00:00+00:00",
    ):
        analytics.deliver(bus_event(enrolled(course_id), at(when)))
    return built


def test_the_course_instructor_reads_a_dense_daily_series(course: Any) -> None:
    reply = course_series(
        course.owner, course.id, metric="enrollments", **{"from": "2026-11-29"}, to="2026-12-03"
    )
    assert reply.status == 200, reply.body
    assert reply.body["metric"] == "enrollments"
    assert reply.body["from"] == "2026-11-29" and reply.body["to"] == "2026-12-03"
    assert reply.body["courseId"] == course.id
    assert [(p["period"], p["value"]) for p in reply.body["points"]] == [
        ("2026-11-29", 0),
        ("2026-11-30", 2),
        ("2026-12-01", 0),
        ("2026-12-02", 1),
        ("2026-12-03", 0),
    ]


def test_weekly_series_by_iso_week_or_day(course: Any) -> None:
    by_week = course_series(course.owner, course.id, metric="activeLearners", period="week",
                            **{"from": "2026-W48"}, to="2026-W50")  # fmt: skip
    by_day = course_series(course.owner, course.id, metric="activeLearners", period="week",
                           **{"from": "2026-11-26"}, to="2026-12-09")  # fmt: skip
    assert by_week.status == by_day.status == 200
    assert (
        by_week.body["points"]
        == by_day.body["points"]
        == [
            {"period": "2026-W48", "value": 0},
            {"period": "2026-W49", "value": 3},
            {"period": "2026-W50", "value": 0},
        ]
    )
    assert by_week.body["from"] == "2026-11-23" and by_week.body["to"] == "2026-12-13"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("instructor", 200),
        ("admin", 200),
        ("instructor of another course", 404),
        ("student", 404),
        ("anonymous", 401),
    ],
)
def test_only_the_courses_teachers_and_admins_see_its_series(
    course: Any, who: str, status: int
) -> None:
    callers = {
        "instructor": course.owner,
        "admin": admin(),
        "instructor of another course": instructor(),
        "student": student(),
        "anonymous": None,
    }
    reply = course_series(callers[who], course.id, metric="enrollments", to="2026-12-03")
    assert reply.status == status, reply.body
    if status == 404:
        # the same answer as for a course that does not exist
        missing = course_series(callers[who], str(uuid.uuid4()), metric="enrollments")
        assert missing.status == 404
        assert reply.body["title"] == missing.body["title"]


def test_an_instructor_removed_from_the_course_loses_its_series(
    course: Any, admin_url: str
) -> None:
    removed = instructor()
    from tests.course.builders import user_id

    where = {"courseId": course.id, "userId": str(user_id(removed))}
    added = call("PUT", "/courses/{courseId}/instructors/{userId}", caller=course.owner,
                 path_params=where)  # fmt: skip
    assert added.status in (200, 201), added.body
    for event in outbox_events(admin_url):
        analytics_consumer.consumer.deliver(event)
    assert course_series(removed, course.id, metric="enrollments").status == 200
    gone = call("DELETE", "/courses/{courseId}/instructors/{userId}", caller=course.owner,
                path_params=where)  # fmt: skip
    assert gone.status in (200, 204), gone.body
    for event in outbox_events(admin_url):
        analytics_consumer.consumer.deliver(event)
    assert course_series(removed, course.id, metric="enrollments").status == 404


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"metric": "revenue"}, "the course metrics are"),
        ({"metric": "nope"}, "activeLearners"),
        ({"metric": "enrollments", "from": "2026-01-01", "to": "2027-01-02"}, "at most 366 days"),
        (
            {"metric": "enrollments", "period": "week", "from": "2025-W01", "to": "2026-W53"},
            "at most 104 weeks",
        ),
        ({"metric": "enrollments", "from": "2026-12-02", "to": "2026-12-01"}, "after"),
        ({"metric": "enrollments", "from": "2026-02-30"}, "not a day"),
        ({"metric": "enrollments", "from": "20261201"}, "a day like"),
        ({"metric": "enrollments", "period": "week", "from": "2026-W54"}, "ISO week"),
    ],
)
def test_bad_series_requests_are_400_problems(
    course: Any, query: dict[str, str], says: str
) -> None:
    reply = course_series(course.owner, course.id, **query)
    assert reply.status == 400, reply.body
    assert reply.content_type == "application/problem+json"
    assert says in reply.body["detail"]


def test_an_unknown_metric_lists_the_valid_ones(course: Any) -> None:
    reply = course_series(course.owner, course.id, metric="revenue")
    assert reply.status == 400
    assert "enrollments" in reply.body["validMetrics"]
    assert "gradeSum" in reply.body["validMetrics"]


def test_the_longest_spans_are_served(course: Any) -> None:
    days = course_series(course.owner, course.id, metric="enrollments",
                         **{"from": "2026-01-01"}, to="2027-01-01")  # fmt: skip
    weeks = course_series(course.owner, course.id, metric="enrollments", period="week",
                          **{"from": "2025-W02"}, to="2026-W53")  # fmt: skip
    assert days.status == 200 and len(days.body["points"]) == 366
    assert weeks.status == 200 and len(weeks.body["points"]) == 104
    assert sum(p["value"] for p in days.body["points"]) == 3


@pytest.mark.parametrize("query", [{"metric": "enrollments", "period": "month"}, {}])
def test_a_malformed_parameter_is_a_4xx(course: Any, query: dict[str, str]) -> None:
    assert course_series(course.owner, course.id, **query).status in (400, 422)


def test_admins_read_platform_series_per_currency(analytics: Any, db_clean: None) -> None:
    for amount, currency in (("19.90", "USD"), ("0.10", "USD"), ("1000", "JPY")):
        paid = payment.InvoicePaid(
            invoice_id=uuid.uuid4(), user_id=uuid.uuid4(), plan_id=uuid.uuid4(),
            plan_interval="month", amount=amount, currency=currency,
            paid_at=at("2026-11-30T10:00:00+00:00"), payment_id=uuid.uuid4(),
        )  # fmt: skip
        analytics.deliver(bus_event(paid, at("2026-11-30T10:00:00+00:00")))
    window = {"from": "2026-11-30", "to": "2026-12-01"}
    usd = platform_series(admin(), metric="revenue", currency="USD", **window)
    assert usd.status == 200, usd.body
    assert usd.body["points"] == [{"period": "2026-11-30", "value": "20.00"},
                                  {"period": "2026-12-01", "value": "0"}]  # fmt: skip
    jpy = platform_series(admin(), metric="revenue", currency="JPY", period="week", **window)
    assert jpy.body["points"] == [{"period": "2026-W49", "value": "1000"}]
    invoices = platform_series(admin(), metric="paidInvoices", **window)
    assert [p["value"] for p in invoices.body["points"]] == [3, 0]


@pytest.mark.parametrize(
    ("who", "status"), [("student", 403), ("instructor", 403), ("anonymous", 401)]
)
def test_only_admins_read_platform_series(analytics: Any, who: str, status: int) -> None:
    caller = {"student": student(), "instructor": instructor(), "anonymous": None}[who]
    assert platform_series(caller, metric="registrations").status == status


@pytest.mark.parametrize(
    "query",
    [
        {"metric": "revenue"},
        {"metric": "revenue", "currency": "usd"},
        {"metric": "registrations", "currency": "USD"},
        {"metric": "lessonsCompleted"},
    ],
)
def test_bad_platform_requests_are_400(analytics: Any, query: dict[str, str]) -> None:
    reply = platform_series(admin(), **query)
    assert reply.status == 400, reply.body


def test_the_api_document_names_the_span_from_and_to() -> None:
    from functions.registry import SERVICES
    from lms_platform.openapi import build_document

    document = build_document(SERVICES, server_url="http://127.0.0.1:3000")
    for path in ("/analytics/courses/{courseId}", "/analytics/platform"):
        names = [p["name"] for p in document["paths"][path]["get"]["parameters"]]
        assert {"metric", "period", "from", "to"} <= set(names), names
        assert "from_" not in names
