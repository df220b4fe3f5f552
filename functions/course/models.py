"""The Course service's request and response bodies (camelCase on the wire)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from lms_platform.http import ApiModel

CourseStatus = Literal["DRAFT", "PUBLISHED", "ARCHIVED"]
LessonType = Literal["video", "pdf", "quiz", "text", "assignment"]
InstructorRole = Literal["OWNER", "INSTRUCTOR"]

# Every lesson id travels in the events that change a course's outline; this bound keeps
# such an event far below EventBridge's 256 KB entry limit.
MAX_LESSONS_PER_COURSE = 1000
MAX_MODULES_PER_COURSE = 200
# Enough for a large team; bounds the course page and the instructors' events.
MAX_INSTRUCTORS_PER_COURSE = 20


def _not_a_uuid(value: str) -> str:
    # GET /courses/{courseId} takes an id or a slug: a slug that reads as an id would hide.
    try:
        uuid.UUID(value)
    except ValueError:
        return value
    raise ValueError("a slug cannot have the form of a UUID")


Slug = Annotated[
    str,
    Field(min_length=2, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
    AfterValidator(_not_a_uuid),
]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=10_000)]
Position = Annotated[int, Field(ge=0, description="0-based place; past the end means last")]
Duration = Annotated[int, Field(ge=0, le=10_000)]


# Only callers with a current subscription (a paid invoice of a plan) may enroll.
RequiresSubscription = Annotated[
    bool, Field(description="Enrolling needs a current subscription (a paid plan)")
]


class CreateCourse(ApiModel):
    title: Title
    slug: Slug | None = None
    description: Description | None = None
    requires_subscription: RequiresSubscription = False


class UpdateCourse(ApiModel):
    title: Title | None = None
    slug: Slug | None = None
    description: Description | None = None
    requires_subscription: RequiresSubscription | None = None


class AddModule(ApiModel):
    title: Title
    position: Position | None = None


class UpdateModule(ApiModel):
    title: Title


class ModuleOrder(ApiModel):
    module_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_MODULES_PER_COURSE)]


class AddLesson(ApiModel):
    title: Title
    type: LessonType
    duration_minutes: Duration | None = None
    position: Position | None = None


class UpdateLesson(ApiModel):
    title: Title | None = None
    type: LessonType | None = None
    duration_minutes: Duration | None = None


class LessonOrder(ApiModel):
    lesson_ids: Annotated[list[uuid.UUID], Field(max_length=MAX_LESSONS_PER_COURSE)]


class MoveLesson(ApiModel):
    module_id: uuid.UUID
    position: Position | None = None


class Lesson(ApiModel):
    id: uuid.UUID
    module_id: uuid.UUID
    title: str
    type: LessonType
    duration_minutes: int | None
    sort_order: int


class Module(ApiModel):
    id: uuid.UUID
    title: str
    sort_order: int
    lessons: list[Lesson]


class Instructor(ApiModel):
    user_id: uuid.UUID
    role: InstructorRole
    assigned_at: datetime


class CourseSummary(ApiModel):
    id: uuid.UUID
    title: str
    slug: str
    description: str | None
    status: CourseStatus
    requires_subscription: bool
    created_at: datetime
    updated_at: datetime


class Course(CourseSummary):
    """A course with its instructors and its modules and lessons, in order."""

    version: int
    instructors: list[Instructor]
    modules: list[Module]


class CoursePage(ApiModel):
    items: list[CourseSummary]
    next_cursor: str | None


class TransferOwnership(ApiModel):
    user_id: uuid.UUID


class CourseInstructors(ApiModel):
    course_id: uuid.UUID
    instructors: list[Instructor]
