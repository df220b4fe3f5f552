"""The Enrollment service's consumer of Course events (SQS batches from its queue).

The handler names are the inbox's keys: ``(event_id, handler)`` records that an effect
happened. They must never change, or a redelivered event would be applied again.
"""

from __future__ import annotations

from functions.enrollment import read_model, store
from lms_events import course as events
from lms_platform.inbox import EventConsumer, Subscription

COURSE_HEADER = "enrollment.course-header"
COURSE_OUTLINE = "enrollment.course-outline"
COURSE_INSTRUCTORS = "enrollment.course-instructors"

consumer = EventConsumer(
    store.db,
    [
        *(
            Subscription(event, COURSE_HEADER, read_model.apply_course_header)
            for event in (
                events.CourseCreated,
                events.CourseUpdated,
                events.CoursePublished,
                events.CourseArchived,
            )
        ),
        *(
            Subscription(event, COURSE_OUTLINE, read_model.apply_outline)
            for event in events.OUTLINE_EVENTS
        ),
        Subscription(events.InstructorAssigned, COURSE_INSTRUCTORS, read_model.apply_instructor),
        Subscription(events.InstructorRemoved, COURSE_INSTRUCTORS, read_model.apply_instructor),
    ],
)

handler = consumer.handler
