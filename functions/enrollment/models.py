"""The Enrollment service's response bodies (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from lms_platform.http import ApiModel

EnrollmentStatus = Literal["ACTIVE", "COMPLETED", "CANCELLED"]


class EnrollmentSummary(ApiModel):
    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str | None
    status: EnrollmentStatus
    # numeric(5,2) in the database; a JSON number on the wire.
    progress_pct: float
    completed_at: datetime | None
    enrolled_at: datetime
    updated_at: datetime


class LessonProgress(ApiModel):
    lesson_id: uuid.UUID
    position: int
    # Null when the lesson is not done (or not started: then ``updatedAt`` is null too).
    completed_at: datetime | None
    updated_at: datetime | None


class Enrollment(EnrollmentSummary):
    """An enrollment with every lesson of its course, in course order."""

    lessons: list[LessonProgress]


class EnrollmentPage(ApiModel):
    items: list[EnrollmentSummary]
    next_cursor: str | None
