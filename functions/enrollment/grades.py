"""Grades from the Assignment service that complete lessons (``SubmissionGraded``).

The rule: a passing grade -- the score reached the assignment's passing score, or it has
none; the Assignment service judges it and says ``passed`` -- on the student's latest
submission to an assignment attached to a lesson completes that lesson for the student,
through the same path as ``PUT /enrollments/{id}/lessons/{lessonId}/completion``
(``use_cases.mark_lesson_done``: progress recomputed from rows, ``LessonCompleted``, and
``EnrollmentCompleted`` at 100%). Any other grade changes nothing.

Regrades and order (and why): every version of a grade is judged on its own, and a
completed lesson is never un-completed. A passing version completes the lesson whenever it
arrives; a failing one does nothing. So the outcome is the same whatever order the
versions arrive in, and it is what applying them in version order would give: the newest
version wins as the grade (the Assignment service keeps it), and a later failing regrade
does not take back the lesson an earlier passing one completed. A repeat changes nothing:
the inbox drops an exact one, and a lesson done already stays as it was (one
``LessonCompleted``).

Where the plain path would refuse: a cancelled enrollment, or a lesson this service's read
model does not have yet (the Course events may come later than the grade). The lesson is
then only marked done: enrolling again recomputes the enrollment, and the recompute that
follows a lesson list counts it, so the grade is not lost to the order events arrive in.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from functions.enrollment import store, use_cases
from lms_events.assignment import SubmissionGraded
from lms_events.envelope import Envelope
from lms_platform.db import UnitOfWork
from lms_platform.inbox import Subscription

logger = logging.getLogger(__name__)

# The inbox key: it must never change, or redelivered grades would be applied again.
HANDLER = "enrollment.submission-graded"


def apply(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    grade: SubmissionGraded = envelope.data
    if not (grade.passed and grade.latest and grade.lesson_id is not None):
        return
    enrollment = uow.fetch_one(
        store.LOCK_STUDENT_ENROLLMENT,
        user_id=grade.user_id,
        course_id=grade.course_id,
        lesson_id=grade.lesson_id,
    )
    if enrollment is None:
        # Work is only taken from enrolled students: their enrollment is this service's.
        logger.warning(
            "a grade for no enrollment; ignored",
            extra={"user_id": str(grade.user_id), "course_id": str(grade.course_id)},
        )
        return
    if enrollment["status"] == "CANCELLED" or not enrollment["lesson_in_course"]:
        uow.execute(
            store.MARK_LESSON_DONE,
            id=uuid.uuid4(),
            enrollment_id=enrollment["id"],
            lesson_id=grade.lesson_id,
        )
        return
    use_cases.mark_lesson_done(uow, enrollment, grade.lesson_id)


SUBSCRIPTIONS = [Subscription(SubmissionGraded, HANDLER, apply)]
