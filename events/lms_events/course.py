"""Events of the Course service (EventBridge source ``lms.course``).

Every event carries the course's ``version``: a counter the Course service raises in the
same transaction as each change to the course, under the course row's lock. Consumers
compare versions, not arrival order, so a late or repeated event never undoes a newer one.

Events that change which lessons a course has (``CoursePublished``, ``LessonAdded``,
``LessonRemoved``, ``LessonsReordered``) also carry ``lessonIds``: every lesson of the
course, in course order, as of that version. A consumer keeps the list of the highest
version it has seen, and is right whatever order the events arrive in.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from lms_events.envelope import EventData

CourseStatus = Literal["DRAFT", "PUBLISHED", "ARCHIVED"]
LessonType = Literal["video", "pdf", "quiz", "text", "assignment"]
InstructorRole = Literal["OWNER", "INSTRUCTOR"]


class CourseEvent(EventData):
    source: ClassVar[str] = "lms.course"

    course_id: uuid.UUID
    version: int = Field(ge=1)


class CourseHeader(CourseEvent):
    """The course's own fields, whole, as of ``version``."""

    title: str
    slug: str
    description: str | None
    status: CourseStatus
    # Enrolling needs a current subscription. Absent from events made before courses had
    # it: those courses did not require one.
    requires_subscription: bool = False


class CourseCreated(CourseHeader):
    created_by: uuid.UUID


class CourseUpdated(CourseHeader):
    pass


class CoursePublished(CourseHeader):
    lesson_ids: list[uuid.UUID]


class CourseArchived(CourseHeader):
    pass


class LessonAdded(CourseEvent):
    lesson_id: uuid.UUID
    module_id: uuid.UUID
    title: str
    type: LessonType
    duration_minutes: int | None
    lesson_ids: list[uuid.UUID]


class LessonRemoved(CourseEvent):
    lesson_id: uuid.UUID
    module_id: uuid.UUID
    lesson_ids: list[uuid.UUID]


class LessonsReordered(CourseEvent):
    """Lessons or modules were reordered, or a lesson moved to another module."""

    lesson_ids: list[uuid.UUID]


class InstructorAssigned(CourseEvent):
    user_id: uuid.UUID
    role: InstructorRole


class InstructorRemoved(CourseEvent):
    user_id: uuid.UUID


EVENTS: tuple[type[CourseEvent], ...] = (
    CourseCreated,
    CourseUpdated,
    CoursePublished,
    CourseArchived,
    LessonAdded,
    LessonRemoved,
    LessonsReordered,
    InstructorAssigned,
    InstructorRemoved,
)

# Events that carry the course's whole lesson list.
OUTLINE_EVENTS: tuple[type[CourseEvent], ...] = (
    CoursePublished,
    LessonAdded,
    LessonRemoved,
    LessonsReordered,
)
