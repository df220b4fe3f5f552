"""The Assignment service's consumer (SQS batches from its queue): Course and Enrollment
events into its read models of courses and enrollments.

Both read models are the shared ones (``lms_platform.read_models``), applied to this
service's tables. On top of the courses: a newer course status or lesson list kept closes
(or opens again) the assignments it concerns, in the same transaction
(``use_cases.follow_course_status``, ``use_cases.follow_lessons``).

The handler names are the inbox's keys: ``(event_id, handler)`` records that an effect
happened. They must never change, or a redelivered event would be applied again.
"""

from __future__ import annotations

from functions.assignment import store, use_cases
from lms_platform.db import UnitOfWork
from lms_platform.inbox import EventConsumer
from lms_platform.read_models import courses, enrollments

COURSE_HANDLERS = courses.HandlerNames(
    header="assignment.course-header",
    outline="assignment.course-outline",
    instructors="assignment.course-instructors",
)
ENROLLMENT_HANDLER = "assignment.enrollments"


def _on_header(uow: UnitOfWork, header: courses.HeaderApplied) -> None:
    use_cases.follow_course_status(uow, header.course_id, header.status)


def _on_outline(uow: UnitOfWork, outline: courses.OutlineApplied) -> None:
    use_cases.follow_lessons(uow, outline.course_id, outline.lesson_ids)


consumer = EventConsumer(
    store.db,
    [
        *courses.subscriptions(COURSE_HANDLERS, on_header=_on_header, on_outline=_on_outline),
        *enrollments.subscriptions(ENROLLMENT_HANDLER),
    ],
)

handler = consumer.handler
