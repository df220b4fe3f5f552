"""The Assignment service: a course's assignments, the work students hand in, its grades."""

from __future__ import annotations

from lms_events import assignment as events
from lms_events import course as course_events
from lms_events import enrollment as enrollment_events
from lms_platform.read_models import COURSE_TABLES, ENROLLMENT_TABLES
from lms_platform.service import Route, Service

# A submission's text may be 64 KiB of UTF-8; its JSON escaping (up to six characters a
# byte for control characters) and 20 links fit in this.
SUBMIT_MAX_BODY_BYTES = 512 * 1024

SERVICE = Service(
    name="assignment",
    routes=(
        Route(
            "POST",
            "/courses/{courseId}/assignments",
            "create_assignment",
            status=201,
            summary="Add an assignment to a course (its instructors, admins)",
            errors=(403, 404, 409),
            rules=(
                "a score with more than two decimals",
                "passingScore above maxScore",
            ),
        ),
        Route(
            "GET",
            "/courses/{courseId}/assignments",
            "list_course_assignments",
            summary="A course's assignments, oldest first (its instructors, students, admins)",
            errors=(403, 404),
        ),
        Route(
            "GET",
            "/assignments/{assignmentId}",
            "get_assignment",
            summary="One assignment (its course's instructors, students, admins)",
            errors=(404,),
        ),
        Route(
            "PATCH",
            "/assignments/{assignmentId}",
            "update_assignment",
            summary="Change an assignment (its course's instructors, admins)",
            errors=(403, 404, 409),
            rules=(
                "a score with more than two decimals",
                "passingScore above maxScore (the stored one when not sent)",
                "nothing to change",
            ),
        ),
        Route(
            "DELETE",
            "/assignments/{assignmentId}",
            "delete_assignment",
            status=204,
            summary="Delete an assignment nobody has submitted to (archive it otherwise)",
            errors=(403, 404, 409),
        ),
        Route(
            "POST",
            "/assignments/{assignmentId}/archive",
            "archive_assignment",
            summary="Archive an assignment: it keeps its work and takes no more",
            errors=(403, 404),
        ),
        Route(
            "POST",
            "/assignments/{assignmentId}/submissions",
            "submit",
            status=201,
            summary="Hand in work (a student with an active enrollment; Idempotency-Key)",
            max_body_bytes=SUBMIT_MAX_BODY_BYTES,
            errors=(403, 404, 409),
            rules=(
                "content with neither text nor a link",
                "a link that is not an http or https URL",
                "text of more than 64 KiB of UTF-8",
            ),
        ),
        Route(
            "GET",
            "/assignments/{assignmentId}/submissions",
            "list_assignment_submissions",
            summary="An assignment's submissions, newest first (its course's instructors, admins)",
            errors=(403, 404),
        ),
        Route(
            "GET",
            "/me/submissions",
            "list_my_submissions",
            summary="The caller's submissions, newest first",
        ),
        Route(
            "GET",
            "/submissions/{submissionId}",
            "get_submission",
            summary="One submission with its grade (its student, the course's instructors, admins)",
            errors=(404,),
        ),
        Route(
            "PUT",
            "/submissions/{submissionId}/grade",
            "grade_submission",
            summary="Grade a submission, or change its grade (the course's instructors, admins)",
            errors=(403, 404, 409),
            rules=(
                "a score with more than two decimals",
                "a score above the assignment's maxScore",
            ),
        ),
    ),
    # Its read models: courses (status, lessons, instructors) and enrollments (who may
    # submit). The same types as ``lms_platform.read_models.enrollments.EVENTS``, named here
    # so that a request never imports the consumer's code.
    consumes=(
        *course_events.EVENTS,
        enrollment_events.EnrollmentCreated,
        enrollment_events.EnrollmentCompleted,
        enrollment_events.EnrollmentCancelled,
    ),
    read_model=(*COURSE_TABLES, *ENROLLMENT_TABLES),
    publishes=events.EVENTS,
)
