"""A quiz passed completes its lesson: the Enrollment service's consumer of the Content
service's ``QuizAttempted``.

A passed attempt at the quiz attached to a lesson marks that lesson done for the student,
through the same path as ``PUT .../completion`` (``use_cases.mark_lesson_done``): the
enrollment row locked, the lesson marked once, progress recomputed from rows, and
``EnrollmentCompleted`` when it reaches 100%. So the effect is the same however often and
in whatever order attempts arrive: failed attempts change nothing, and a second pass finds
the lesson done. An attempt for an enrollment that is cancelled or unknown, or for a lesson
no longer in the course, changes nothing either (as the student's own completion would
be refused).

The handler name is an inbox key: it must never change.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.enrollment import store, use_cases
from lms_events.content import QuizAttempted
from lms_events.envelope import Envelope
from lms_platform.db import UnitOfWork
from lms_platform.inbox import Subscription

logger = logging.getLogger(__name__)

HANDLER = "enrollment.quiz-passed"


def complete_lesson_of_passed_quiz(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    attempt: QuizAttempted = envelope.data
    if not attempt.passed:
        return
    enrollment = uow.fetch_one(
        store.LOCK_STUDENT_ENROLLMENT,
        user_id=attempt.user_id,
        course_id=attempt.course_id,
        lesson_id=attempt.lesson_id,
    )
    if enrollment is None or enrollment["status"] == "CANCELLED":
        logger.info("quiz passed without an enrollment in progress; nothing to complete")
        return
    if not enrollment["lesson_in_course"]:
        logger.info("quiz passed for a lesson no longer in the course; nothing to complete")
        return
    use_cases.mark_lesson_done(uow, enrollment, attempt.lesson_id)


SUBSCRIPTIONS = [Subscription(QuizAttempted, HANDLER, complete_lesson_of_passed_quiz)]
