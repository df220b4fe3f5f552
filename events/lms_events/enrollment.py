"""Events of the Enrollment service (EventBridge source ``lms.enrollment``).

Every event carries the enrollment's ``version``: a counter the Enrollment service raises
in the same transaction as each change to the enrollment (enrolled, a lesson done,
progress recomputed, cancelled, enrolled again), under the enrollment row's lock. A
consumer keeps what the highest version said, whatever order the events arrive in.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from lms_events.envelope import EventData


class EnrollmentEvent(EventData):
    source: ClassVar[str] = "lms.enrollment"

    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    version: int = Field(ge=1)


class EnrollmentCreated(EnrollmentEvent):
    enrolled_at: datetime
    # True when a cancelled enrollment was taken up again rather than a new one made.
    reactivated: bool


class LessonCompleted(EnrollmentEvent):
    lesson_id: uuid.UUID
    completed_at: datetime
    progress_pct: Decimal


class EnrollmentCompleted(EnrollmentEvent):
    completed_at: datetime


class EnrollmentCancelled(EnrollmentEvent):
    cancelled_by: uuid.UUID


EVENTS: tuple[type[EnrollmentEvent], ...] = (
    EnrollmentCreated,
    LessonCompleted,
    EnrollmentCompleted,
    EnrollmentCancelled,
)
