"""The Enrollment service: who takes which course, and how far they have come."""

from __future__ import annotations

from lms_events import assignment as assignment_events
from lms_events import content as content_events
from lms_events import course as course_events
from lms_events import enrollment as events
from lms_events import payment as payment_events
from lms_platform.read_models import COURSE_TABLES
from lms_platform.service import Route, Service

SERVICE = Service(
    name="enrollment",
    routes=(
        Route(
            "POST",
            "/courses/{courseId}/enrollments",
            "enroll",
            status=201,
            summary="Enroll the caller in a published course (402 when the course requires "
            "a subscription the caller does not have)",
            errors=(402, 409),
        ),
        Route(
            "GET",
            "/courses/{courseId}/enrollments",
            "list_course_enrollments",
            summary="A course's enrollments, newest first (its instructors, admins)",
            errors=(403,),
        ),
        Route(
            "GET",
            "/me/enrollments",
            "list_my_enrollments",
            summary="The caller's enrollments, newest first",
        ),
        Route(
            "GET",
            "/enrollments/{enrollmentId}",
            "get_enrollment",
            summary="One enrollment with the progress of each lesson",
        ),
        Route(
            "PUT",
            "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
            "complete_lesson",
            summary="Mark a lesson done (a repeat changes nothing)",
            errors=(409,),
        ),
        Route(
            "POST",
            "/enrollments/{enrollmentId}/cancel",
            "cancel_enrollment",
            summary="Cancel an enrollment (its owner, admins)",
            errors=(403,),
        ),
    ),
    consumes=(
        *course_events.EVENTS,
        assignment_events.SubmissionGraded,
        content_events.QuizAttempted,
        payment_events.InvoicePaid,
    ),
    # (subscription_periods: from the Payment service's InvoicePaid.)
    read_model=(*COURSE_TABLES, "subscription_periods"),
    publishes=events.EVENTS,
    # Progress recomputed in chunks after a course's lessons change (``recompute``).
    tasks=("enrollment.recompute-progress",),
)
