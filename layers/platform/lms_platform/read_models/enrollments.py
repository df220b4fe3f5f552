"""The read model of enrollments a service keeps from Enrollment events: who is enrolled in
which course, and whether the enrollment is cancelled.

Every Enrollment event carries the enrollment's version, raised with each change, and the
row keeps what the highest version said: the read model ends the same whatever order the
events arrive in and however often.

- ``EnrollmentCreated`` (also a cancelled enrollment taken up again) and
  ``EnrollmentCompleted``: enrolled, not cancelled;
- ``EnrollmentCancelled``: cancelled.

Whether an enrollment is completed is not kept: when a course gains lessons the Enrollment
service takes a completed enrollment back to ACTIVE without an event, and a cancellation
does not say whether the enrollment had been completed, so no order-independent answer
follows from the events. Completions still count, as newer versions.

A service adds the table in a migration (``create_tables``) and subscribes with
``subscriptions(handler_name)``; ``STANDING`` answers "may this user act in this course".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lms_events import enrollment as events
from lms_events.envelope import Envelope
from lms_platform.db import UnitOfWork
from lms_platform.inbox import Subscription

EVENTS: tuple[type[events.EnrollmentEvent], ...] = (
    events.EnrollmentCreated,
    events.EnrollmentCompleted,
    events.EnrollmentCancelled,
)


def create_tables() -> None:
    """For a service's migration: ``enrollments``.

    What a revision calls must never change once released: a change is a new helper."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql as pg

    op.create_table(
        "enrollments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("course_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        # The enrollment version of the newest event applied; older events are ignored.
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        # One enrollment per student and course (as in the Enrollment service); its index
        # answers "is this user enrolled in this course".
        sa.UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
    )
    # A course's students.
    op.create_index("ix_enrollments_course_id", "enrollments", ["course_id", "user_id"])


APPLY = """
INSERT INTO enrollments (id, user_id, course_id, cancelled, version)
VALUES (:id, :user_id, :course_id, :cancelled, :version)
ON CONFLICT (id) DO UPDATE SET
  cancelled = excluded.cancelled,
  version = excluded.version,
  updated_at = now()
WHERE enrollments.version < excluded.version
RETURNING id
"""

# The caller's enrollment in a course, if any: ``cancelled`` says whether it still counts.
STANDING = """
SELECT id, cancelled FROM enrollments
WHERE user_id = :user_id AND course_id = :course_id
"""


@dataclass(frozen=True)
class EnrollmentApplied:
    """A newer fact about an enrollment was kept."""

    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    version: int
    cancelled: bool


OnEnrollment = Callable[[UnitOfWork, EnrollmentApplied], None]


def apply(uow: UnitOfWork, envelope: Envelope[Any]) -> EnrollmentApplied | None:
    data = envelope.data
    cancelled = isinstance(data, events.EnrollmentCancelled)
    kept = uow.fetch_one(
        APPLY,
        id=data.enrollment_id,
        user_id=data.user_id,
        course_id=data.course_id,
        cancelled=cancelled,
        version=data.version,
    )
    if kept is None:
        return None  # a newer fact about this enrollment is already kept
    return EnrollmentApplied(
        data.enrollment_id,
        data.user_id,
        data.course_id,
        data.version,
        cancelled,
    )


def subscriptions(handler: str, *, on_change: OnEnrollment | None = None) -> list[Subscription]:
    """The subscriptions that keep the read model of enrollments under the inbox name
    ``handler`` (an inbox key: once used it must never change)."""

    def applied(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        kept = apply(uow, envelope)
        if kept is not None and on_change is not None:
            on_change(uow, kept)

    return [Subscription(event, handler, applied) for event in EVENTS]
