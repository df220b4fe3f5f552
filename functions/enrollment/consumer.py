"""The Enrollment service's consumer (SQS batches from its queue): Course events into its
read model of courses, and the tasks it hands to itself.

The read model is the shared one (``lms_platform.read_models.courses``), applied to this
service's tables; on top of it, a kept lesson list that adds or removes lessons starts the
recompute of the course's progress (``recompute``), which runs as chained tasks. Passing
grades from the Assignment service complete lessons (``grades``), as do quizzes passed
(``quizzes``); paid invoices from the Payment service say who is subscribed until when
(``subscriptions``).

The handler names are the inbox's keys: ``(event_id, handler)`` records that an effect
happened. They must never change, or a redelivered event would be applied again.
"""

from __future__ import annotations

from functions.enrollment import grades, quizzes, recompute, store, subscriptions
from lms_platform.inbox import EventConsumer
from lms_platform.read_models import courses
from lms_platform.tasks import TaskHandler

COURSE_HANDLERS = courses.HandlerNames(
    header="enrollment.course-header",
    outline="enrollment.course-outline",
    instructors="enrollment.course-instructors",
)

consumer = EventConsumer(
    store.db,
    [
        *courses.subscriptions(COURSE_HANDLERS, on_outline=recompute.start),
        *grades.SUBSCRIPTIONS,
        *quizzes.SUBSCRIPTIONS,
        *subscriptions.SUBSCRIPTIONS,
    ],
    tasks=[TaskHandler(recompute.TASK, recompute.run)],
)

handler = consumer.handler
