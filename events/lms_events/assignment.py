"""Events of the Assignment service (EventBridge source ``lms.assignment``).

Assignment events carry the assignment's ``version``, raised with each change of the
assignment (made, changed, archived, closed or opened again with its lesson or course,
deleted) under the assignment row's lock: a consumer keeps what the highest version said.

``SubmissionGraded`` carries the grade's ``version``: 1 for the first grade of a
submission, raised by each regrade. It carries all a consumer needs to act on the grade
without calling back: who, which course, lesson, assignment and submission, the score
against the assignment's scores as they stood, whether it passed, and whether the
submission is the student's latest for the assignment (the one that counts).

Scores are decimals; in JSON they are strings ("87.50").
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from lms_events.envelope import EventData

AssignmentStatus = Literal["OPEN", "CLOSED"]
# Why an assignment takes no submissions: archived by its teachers, its course archived,
# its lesson removed from the course.
ClosedReason = Literal["ARCHIVED", "COURSE_ARCHIVED", "LESSON_REMOVED"]
SubmissionStatus = Literal["SUBMITTED", "LATE", "GRADED"]


class AssignmentEvent(EventData):
    # Built on first use: a function makes one or two of these events, never all.
    model_config = ConfigDict(defer_build=True)
    source: ClassVar[str] = "lms.assignment"

    assignment_id: uuid.UUID
    course_id: uuid.UUID
    version: int = Field(ge=1)


class AssignmentState(AssignmentEvent):
    """The assignment's fields, whole, as of ``version``."""

    lesson_id: uuid.UUID | None
    title: str
    description: str
    due_at: datetime | None
    max_score: Decimal
    passing_score: Decimal | None
    status: AssignmentStatus
    closed_reason: ClosedReason | None


class AssignmentCreated(AssignmentState):
    created_by: uuid.UUID


class AssignmentUpdated(AssignmentState):
    """Changed by its teachers, archived, or closed (opened again) by a change of its course."""


class AssignmentDeleted(AssignmentEvent):
    deleted_by: uuid.UUID


class SubmissionEvent(EventData):
    model_config = ConfigDict(defer_build=True)
    source: ClassVar[str] = "lms.assignment"

    submission_id: uuid.UUID
    assignment_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID | None
    user_id: uuid.UUID


class SubmissionCreated(SubmissionEvent):
    submitted_at: datetime
    status: Literal["SUBMITTED", "LATE"]
    # Submitted after the assignment's due date (the server's clock).
    late: bool


class SubmissionGraded(SubmissionEvent):
    score: Decimal
    max_score: Decimal
    passing_score: Decimal | None
    # The score is at least the passing score, or the assignment has none.
    passed: bool
    # The submission is the student's latest for the assignment: the one that counts.
    latest: bool
    version: int = Field(ge=1)
    graded_by: uuid.UUID
    graded_at: datetime


EVENTS: tuple[type[EventData], ...] = (
    AssignmentCreated,
    AssignmentUpdated,
    AssignmentDeleted,
    SubmissionCreated,
    SubmissionGraded,
)
