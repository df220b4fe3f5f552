"""The Content service's consumer (SQS batches from its queue): Course events into its read
model of courses, Enrollment events into its read model of enrollments -- together they
say who teaches and who studies each course -- and the content a course's changes retire.

Both read models are the shared ones (``lms_platform.read_models``), applied to this
service's tables; on top of the courses, ``retirement`` retires the items of removed
lessons and archived courses.

The handler names are the inbox's keys: ``(event_id, handler)`` records that an effect
happened. They must never change, or a redelivered event would be applied again.
"""

from __future__ import annotations

from functions.content import retirement, store
from lms_platform.inbox import EventConsumer
from lms_platform.read_models import courses, enrollments

COURSE_HANDLERS = courses.HandlerNames(
    header="content.course-header",
    outline="content.course-outline",
    instructors="content.course-instructors",
)
ENROLLMENT_HANDLER = "content.enrollments"

consumer = EventConsumer(
    store.db,
    [
        *courses.subscriptions(
            COURSE_HANDLERS,
            on_header=retirement.follow_course_status,
            on_outline=retirement.retire_removed_lessons,
        ),
        *enrollments.subscriptions(ENROLLMENT_HANDLER),
    ],
)

handler = consumer.handler
