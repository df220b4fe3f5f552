"""The Assignment service's request and response bodies (camelCase on the wire).

Each model is built on its first use (pydantic's ``defer_build``), not at import: a
function serves one route and uses a few of them, and building all of them cost ~12 ms of
every cold start.

Scores: a request may send a JSON number or a decimal string (``87.5``, ``"87.50"``), with
at most two decimal places; responses and events send decimal strings (``"87.50"``), so
that no client reads a score through a binary float. The database keeps ``numeric(8,2)``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    model_validator,
)

from lms_events.assignment import AssignmentStatus, ClosedReason, SubmissionStatus
from lms_platform.http import ApiModel as PlatformModel


class ApiModel(PlatformModel):
    model_config = ConfigDict(defer_build=True)


MAX_SCORE = Decimal("100000")
MAX_TEXT_BYTES = 64 * 1024
MAX_LINKS = 20
MAX_LINK_LENGTH = 2048

Score = Annotated[Decimal, Field(ge=0, le=MAX_SCORE, max_digits=8, decimal_places=2)]
PositiveScore = Annotated[Decimal, Field(gt=0, le=MAX_SCORE, max_digits=8, decimal_places=2)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=10_000)]
Feedback = Annotated[str, Field(max_length=10_000)]

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_link(value: str) -> str:
    # Validated as an http or https URL with a host (HttpUrl allows no other scheme), and
    # kept as the student wrote it: HttpUrl would normalize it (a slash added, the host's
    # letter case changed).
    value = value.strip()
    _HTTP_URL.validate_python(value)
    return value


def _bounded_text(value: str) -> str:
    if len(value.encode()) > MAX_TEXT_BYTES:
        raise ValueError(f"the text must be at most {MAX_TEXT_BYTES} bytes of UTF-8")
    return value


Link = Annotated[str, Field(min_length=1, max_length=MAX_LINK_LENGTH), AfterValidator(_http_link)]


# --- assignments ------------------------------------------------------------------------------


def _passing_within_max(max_score: Decimal | None, passing: Decimal | None) -> None:
    if max_score is not None and passing is not None and passing > max_score:
        raise ValueError("passingScore must not exceed maxScore")


class CreateAssignment(ApiModel):
    title: Title
    description: Description = ""
    lesson_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None
    max_score: PositiveScore
    passing_score: Score | None = None

    @model_validator(mode="after")
    def _scores(self) -> CreateAssignment:
        _passing_within_max(self.max_score, self.passing_score)
        return self


class UpdateAssignment(ApiModel):
    """Only the fields sent change; ``null`` clears ``lessonId``, ``dueAt`` and
    ``passingScore``."""

    title: Title | None = None
    description: Description | None = None
    lesson_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None
    max_score: PositiveScore | None = None
    passing_score: Score | None = None

    @model_validator(mode="after")
    def _scores(self) -> UpdateAssignment:
        for name in ("title", "description", "max_score"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        _passing_within_max(self.max_score, self.passing_score)
        return self


class Assignment(ApiModel):
    id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID | None
    title: str
    description: str
    due_at: datetime | None
    max_score: Decimal
    passing_score: Decimal | None
    # OPEN takes submissions; CLOSED says why in ``closedReason``.
    status: AssignmentStatus
    closed_reason: ClosedReason | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class AssignmentPage(ApiModel):
    items: list[Assignment]
    next_cursor: str | None


# --- submissions ------------------------------------------------------------------------------


class SubmissionContent(ApiModel):
    # The student's text is kept exactly as sent (no whitespace trimmed).
    model_config = ConfigDict(str_strip_whitespace=False)

    text: Annotated[str, AfterValidator(_bounded_text)] | None = None
    links: Annotated[list[Link], Field(default_factory=list, max_length=MAX_LINKS)]

    @model_validator(mode="after")
    def _something(self) -> SubmissionContent:
        if not (self.text and self.text.strip()) and not self.links:
            raise ValueError("a submission needs a text or at least one link")
        return self


class SubmitWork(ApiModel):
    content: SubmissionContent


# Sent by a client that may retry: the same key and request replay the first submission.
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]


class Grade(ApiModel):
    submission_id: uuid.UUID
    score: Decimal
    feedback: str
    # Judged when graded: at least the passing score then, or the assignment had none.
    passed: bool
    graded_at: datetime
    graded_by: uuid.UUID
    # 1 for the first grade, raised by each regrade.
    version: int


class GradeSummary(ApiModel):
    score: Decimal
    passed: bool
    graded_at: datetime


class SubmissionSummary(ApiModel):
    """A submission in a list: its content is read one submission at a time."""

    id: uuid.UUID
    assignment_id: uuid.UUID
    course_id: uuid.UUID
    user_id: uuid.UUID
    submitted_at: datetime
    status: SubmissionStatus
    late: bool
    latest: bool
    # Null until graded.
    grade: GradeSummary | None


class Submission(ApiModel):
    id: uuid.UUID
    assignment_id: uuid.UUID
    course_id: uuid.UUID
    user_id: uuid.UUID
    submitted_at: datetime
    status: SubmissionStatus
    late: bool
    latest: bool
    content: SubmissionContent
    # Null until graded; then the score, the feedback, who graded and when.
    grade: Grade | None


class SubmissionPage(ApiModel):
    items: list[SubmissionSummary]
    next_cursor: str | None


class GradeSubmission(ApiModel):
    score: Score
    feedback: Feedback = ""


SubmissionFilter = Literal["SUBMITTED", "LATE", "GRADED"]
