"""Who is subscribed until when: the Enrollment service's consumer of the Payment service's
``InvoicePaid``, and the clock that judges it.

The rule: an invoice paid for a plan covers a span from its ``paid_at`` -- a month for a
monthly plan, a year for a yearly one, for ever for a plan paid ``once`` -- and a student
is subscribed while any of their paid invoices covers now. Enrolling in a course that
requires a subscription is refused without one (``use_cases.enroll``, 402). The check is
made when enrolling: an enrollment made stays when the subscription ends, as it stays when
a course is archived.

Order and repeats (and why): each paid invoice is kept as its own row
(``subscription_periods``, one per invoice id), never folded into a running total, so the
coverage is the latest end among the rows whatever order the invoices arrive in: a second
invoice extends it, and a late older one adds a period that ends sooner and shortens
nothing. A repeat changes nothing: the inbox drops an exact one, and the invoice id drops
any other.

Voided invoices: the Payment service voids only OPEN invoices (a paid one is refused, it
would need a refund), and pays only OPEN ones, each under the invoice's lock; so no paid
invoice is ever voided, and ``InvoiceVoided`` never takes back a period. This consumer does
not subscribe to it.

The handler name is an inbox key: it must never change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.enrollment import store
from lms_events.envelope import Envelope
from lms_events.payment import InvoicePaid
from lms_platform.db import UnitOfWork
from lms_platform.inbox import Subscription

HANDLER = "enrollment.invoice-paid"


def now() -> datetime:
    """The clock subscriptions are judged by (the function's own)."""
    return datetime.now(UTC)


def add_period(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    paid: InvoicePaid = envelope.data
    uow.execute(
        store.ADD_SUBSCRIPTION_PERIOD,
        invoice_id=paid.invoice_id,
        user_id=paid.user_id,
        plan_id=paid.plan_id,
        plan_interval=paid.plan_interval,
        paid_at=paid.paid_at,
    )


SUBSCRIPTIONS = [Subscription(InvoicePaid, HANDLER, add_period)]
