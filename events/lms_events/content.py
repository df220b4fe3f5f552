"""Events of the Content service (EventBridge source ``lms.content``).

``ContentPublished`` carries the item's ``revision``: a counter raised in the same
transaction as each publication, under the item row's lock (publishing an older version
again raises it too), so a consumer keeps the newest publication whatever the arrival
order. ``QuizAttempted`` is a fact of its own (one per attempt, never changed): it carries
what a consumer needs to act on it without calling back -- who, which course, lesson and
item, the score and whether it passed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from lms_events.envelope import EventData

ContentType = Literal["video", "pdf", "quiz"]


class ContentEvent(EventData):
    source: ClassVar[str] = "lms.content"

    content_item_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID


class ContentPublished(ContentEvent):
    """A version became the item's current one: what students now see."""

    revision: int = Field(ge=1)
    type: ContentType
    title: str
    version_id: uuid.UUID
    version: int = Field(ge=1)
    published_at: datetime
    # Files: what the service verified of the object. Quizzes: the number of questions.
    mime_type: str | None
    size_bytes: int | None
    duration_secs: int | None
    question_count: int | None


class QuizAttempted(ContentEvent):
    """A student's attempt at a quiz, graded by the service."""

    attempt_id: uuid.UUID
    user_id: uuid.UUID
    # The quiz version the answers were graded against.
    version_id: uuid.UUID
    score_pct: Decimal
    pass_mark_pct: int
    passed: bool
    correct_count: int
    question_count: int
    attempted_at: datetime


EVENTS: tuple[type[ContentEvent], ...] = (ContentPublished, QuizAttempted)
