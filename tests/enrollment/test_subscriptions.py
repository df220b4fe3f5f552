"""What paying buys: a course that requires a subscription takes only students with a current
one. The invoices are paid through the real Payment routes, the Stripe library and the
gateway simulator; ``InvoicePaid`` reaches the Enrollment consumer over the bus -> rule ->
queue path (``course_feed``), or, for the order and repeat cases, is handed to the consumer
as the bus would deliver it. The clock subscriptions are judged by is moved by the tests
(``subscriptions.now``)."""

from __future__ import annotations

import calendar
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from functions.enrollment import consumer, subscriptions
from lms_events.envelope import Envelope
from lms_events.payment import InvoicePaid
from tests.course.builders import BuiltCourse, admin, build_course, ok, student, user_id
from tests.enrollment.conftest import CourseFeed
from tests.payment.conftest import (
    ADMIN,
    create_invoice,
    create_plan,
    get_invoice,
    pay,
)
from tests.support import Reply, call, scalar

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean", "simulator")]


def enroll(caller: dict[str, Any], course_id: str) -> Reply:
    return call(
        "POST",
        "/courses/{courseId}/enrollments",
        caller=caller,
        path_params={"courseId": course_id},
    )


def cancel(caller: dict[str, Any], enrollment_id: str) -> None:
    ok(
        call(
            "POST",
            "/enrollments/{enrollmentId}/cancel",
            caller=caller,
            path_params={"enrollmentId": enrollment_id},
        )
    )


def paid_course(feed: CourseFeed) -> BuiltCourse:
    course = build_course(requires_subscription=True)
    feed.pump()
    return course


def pay_for(learner: dict[str, Any], interval: str = "month") -> dict[str, Any]:
    """A plan of ``interval``, an invoice of it, paid by card: the paid invoice."""
    plan = create_plan("9.90", "EUR", interval)
    invoice = create_invoice(learner, plan["id"])
    ok(pay(learner, invoice["id"], "pm_card_visa"), 201)
    return ok(get_invoice(learner, invoice["id"]))  # type: ignore[no-any-return]


def month_later(moment: datetime) -> datetime:
    """The same time a calendar month later in UTC, the day clamped to the month's last."""
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(subscriptions, "now", lambda: moment)


def enrolls_at(
    monkeypatch: pytest.MonkeyPatch, learner: dict[str, Any], course_id: str, moment: datetime
) -> int:
    """The status of enrolling at ``moment``; an enrollment made is cancelled again, so that
    the next try is judged afresh (taking a cancelled enrollment up passes the same check)."""
    at(monkeypatch, moment)
    reply = enroll(learner, course_id)
    if reply.status == 201:
        cancel(learner, reply.body["id"])
    return reply.status


def invoice_paid(
    learner: dict[str, Any], paid_at: datetime, interval: str = "month"
) -> dict[str, Any]:
    """An ``InvoicePaid`` as the bus delivers it, for an invoice of its own."""
    data = InvoicePaid(
        invoice_id=uuid.uuid4(),
        user_id=user_id(learner),
        plan_id=uuid.uuid4(),
        plan_interval=interval,  # type: ignore[arg-type]
        amount=Decimal("9.90"),
        currency="EUR",
        paid_at=paid_at,
        payment_id=uuid.uuid4(),
    )
    envelope = Envelope.wrap(data, aggregate_id=data.invoice_id)
    return {
        "id": str(uuid.uuid4()),
        "source": data.source,
        "detail-type": data.event_type,
        "detail": json.loads(envelope.detail_json()),
    }


def redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """The same invoice's event under another event id (published twice, say)."""
    detail = {**event["detail"], "eventId": str(uuid.uuid4())}
    return {**event, "id": str(uuid.uuid4()), "detail": detail}


# --- before and after paying ------------------------------------------------------------------


def test_a_student_enrolls_in_a_paid_course_once_their_payment_reaches_enrollment(
    course_feed: CourseFeed,
) -> None:
    # Given a published course that requires a subscription, and a student without one
    course = paid_course(course_feed)
    learner = student()

    # When they enroll before paying: 402, a problem saying why
    refused = enroll(learner, course.id)
    assert refused.status == 402
    assert refused.content_type == "application/problem+json"
    assert refused.body["title"] == "Subscription required"
    assert refused.body["courseId"] == course.id

    # When they pay an invoice of a monthly plan through the Payment routes
    invoice = pay_for(learner, "month")
    assert invoice["status"] == "PAID"
    # Then enrolling waits for InvoicePaid to reach the Enrollment service
    assert enroll(learner, course.id).status == 402
    assert course_feed.pump() >= 1
    delivered = [e.get("detail-type") for e in course_feed.delivered]
    assert "InvoicePaid" in delivered

    # And then they enroll: 201 as in any course; a second time 409 as ever
    enrollment = ok(enroll(learner, course.id), 201)
    assert enrollment["status"] == "ACTIVE"
    assert enrollment["lessons"][0]["lessonId"] == course.lesson_ids[0]
    assert enroll(learner, course.id).status == 409


def test_a_course_that_does_not_require_one_takes_anyone_and_a_refusal_leaves_nothing(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    free = build_course()
    members = build_course(requires_subscription=True, title="Members only")
    course_feed.pump()
    learner = student()

    assert enroll(learner, members.id).status == 402
    assert enroll(admin(), members.id).status == 402  # the rule is the same for everyone

    assert ok(enroll(learner, free.id), 201)["courseId"] == free.id
    kept = scalar(
        admin_sql, "SELECT count(*) FROM lms_enrollment.enrollments WHERE course_id = "
        "CAST(:id AS uuid)", id=members.id,
    )  # fmt: skip
    assert kept == 0
    outbox = scalar(
        admin_sql,
        "SELECT count(*) FROM lms_enrollment.outbox WHERE detail->'data'->>'courseId' = :id",
        id=members.id,
    )
    assert outbox == 0


def test_a_course_opened_later_takes_anyone_whatever_order_its_events_arrive_in(
    course_feed: CourseFeed, admin_sql: Any
) -> None:
    # Given a course published as requiring a subscription, then opened to all
    course = build_course(requires_subscription=True)
    ok(
        call(
            "PATCH",
            "/courses/{courseId}",
            caller=course.owner,
            path_params={"courseId": course.id},
            body={"requiresSubscription": False},
        )
    )
    rows = admin_sql.run(
        "SELECT source, event_type, detail::text FROM lms_course.outbox "
        "WHERE destination = 'bus' ORDER BY occurred_at"
    )
    # When the Enrollment consumer gets the course's events newest first
    for source, kind, detail in reversed(rows):
        consumer.consumer.deliver(
            {"source": source, "detail-type": kind, "detail": json.loads(detail)}
        )

    # Then the newest header is kept: the course is open
    kept = scalar(
        admin_sql,
        "SELECT requires_subscription FROM lms_enrollment.courses WHERE id = CAST(:id AS uuid)",
        id=course.id,
    )
    assert kept is False
    assert enroll(student(), course.id).status == 201


# --- how long a payment covers -----------------------------------------------------------------


def test_a_monthly_invoice_covers_a_month_from_paid_at_and_not_a_second_longer(
    course_feed: CourseFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a student who paid a monthly plan, their payment delivered
    course = paid_course(course_feed)
    learner = student()
    paid_at = datetime.fromisoformat(pay_for(learner, "month")["paidAt"])
    course_feed.pump()
    end = month_later(paid_at)

    # Then they may enroll until a month after paying, and not from then on
    assert enrolls_at(monkeypatch, learner, course.id, paid_at + timedelta(seconds=1)) == 201
    assert enrolls_at(monkeypatch, learner, course.id, end - timedelta(seconds=1)) == 201
    assert enrolls_at(monkeypatch, learner, course.id, end) == 402
    assert enrolls_at(monkeypatch, learner, course.id, end + timedelta(days=3)) == 402


def test_a_yearly_invoice_covers_a_year_and_a_once_invoice_for_ever(
    course_feed: CourseFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = paid_course(course_feed)
    yearly, lifetime = student(), student()
    paid_at = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    consumer.consumer.deliver(invoice_paid(yearly, paid_at, "year"))
    consumer.consumer.deliver(invoice_paid(lifetime, paid_at, "once"))
    a_year_on = datetime(2028, 2, 28, 12, 0, tzinfo=UTC)

    assert enrolls_at(monkeypatch, yearly, course.id, a_year_on - timedelta(seconds=1)) == 201
    assert enrolls_at(monkeypatch, yearly, course.id, a_year_on) == 402
    assert enrolls_at(monkeypatch, lifetime, course.id, a_year_on) == 201
    assert enrolls_at(monkeypatch, lifetime, course.id, datetime(2127, 1, 1, tzinfo=UTC)) == 201


def test_a_month_from_the_31st_ends_on_the_last_day_of_a_shorter_month(
    course_feed: CourseFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = paid_course(course_feed)
    learner = student()
    consumer.consumer.deliver(
        invoice_paid(learner, datetime(2027, 1, 31, 23, 30, tzinfo=UTC), "month")
    )
    end = datetime(2027, 2, 28, 23, 30, tzinfo=UTC)
    assert month_later(datetime(2027, 1, 31, 23, 30, tzinfo=UTC)) == end

    assert enrolls_at(monkeypatch, learner, course.id, end - timedelta(seconds=1)) == 201
    assert enrolls_at(monkeypatch, learner, course.id, end) == 402


# --- repeats and order ------------------------------------------------------------------------


def test_a_repeated_invoice_paid_changes_nothing(
    course_feed: CourseFeed, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a paid invoice whose InvoicePaid went over the bus to the consumer
    course = paid_course(course_feed)
    learner = student()
    invoice = pay_for(learner, "month")
    course_feed.pump()
    (event,) = [e for e in course_feed.delivered if e.get("detail-type") == "InvoicePaid"]
    before = admin_sql.run(
        "SELECT invoice_id::text, covers_until FROM lms_enrollment.subscription_periods"
    )

    # When it comes again, as it was and under another event id
    assert consumer.consumer.deliver(event) == 0  # the inbox knows it
    assert consumer.consumer.deliver(redelivered(event)) == 1  # applied, to no effect

    # Then the one period stands as it was
    after = admin_sql.run(
        "SELECT invoice_id::text, covers_until FROM lms_enrollment.subscription_periods"
    )
    assert after == before
    assert [row[0] for row in after] == [invoice["id"]]
    end = month_later(datetime.fromisoformat(invoice["paidAt"]))
    assert enrolls_at(monkeypatch, learner, course.id, end - timedelta(seconds=1)) == 201
    assert enrolls_at(monkeypatch, learner, course.id, end) == 402


@pytest.mark.parametrize("order", ["older first", "newer first"])
def test_two_invoices_cover_to_the_latest_end_whatever_order_they_arrive_in(
    order: str, course_feed: CourseFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two monthly invoices of one student, paid 20 days apart
    course = paid_course(course_feed)
    learner = student()
    first_paid = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    second_paid = first_paid + timedelta(days=20)
    older, newer = invoice_paid(learner, first_paid), invoice_paid(learner, second_paid)

    # When they arrive in either order (the late one repeated)
    arrivals = [older, newer, older] if order == "older first" else [newer, older, older]
    for event in arrivals:
        consumer.consumer.deliver(event)

    # Then the cover runs to the newer one's end: the older one, late, shortens nothing
    assert enrolls_at(monkeypatch, learner, course.id, month_later(first_paid)) == 201
    assert enrolls_at(monkeypatch, learner, course.id, month_later(second_paid)) == 402
    assert (
        enrolls_at(monkeypatch, learner, course.id, month_later(second_paid) - timedelta(seconds=1))
        == 201
    )


def test_a_paid_invoice_cannot_be_voided_so_its_period_is_never_taken_back(
    course_feed: CourseFeed,
) -> None:
    course = paid_course(course_feed)
    learner = student()
    invoice = pay_for(learner, "month")

    for caller in (learner, ADMIN):
        voided = call(
            "POST",
            "/invoices/{invoiceId}/void",
            caller=caller,
            path_params={"invoiceId": invoice["id"]},
        )
        assert voided.status == 409
    course_feed.pump()
    assert not [e for e in course_feed.delivered if e.get("detail-type") == "InvoiceVoided"]
    assert enroll(learner, course.id).status == 201
