"""The Content service: lesson files on S3, verified before they are published, and quizzes
graded on the server."""

from __future__ import annotations

from lms_events import content as events
from lms_events import course as course_events
from lms_events import enrollment as enrollment_events
from lms_platform.read_models import COURSE_TABLES, ENROLLMENT_TABLES
from lms_platform.service import Route, Service

SERVICE = Service(
    name="content",
    # Magic numbers (pyproject's `content` group): in this service's layer only.
    dependencies=("content",),
    routes=(
        Route(
            "POST",
            "/courses/{courseId}/lessons/{lessonId}/content",
            "create_content",
            status=201,
            summary="Add a video, PDF or quiz to a lesson (its instructors, admins)",
            errors=(403, 409),
            rules=("passMarkPct for anything but a quiz",),
        ),
        Route(
            "GET",
            "/courses/{courseId}/lessons/{lessonId}/content",
            "list_lesson_content",
            summary="A lesson's content items with their current version",
            errors=(403,),
        ),
        Route("GET", "/content/{itemId}", "get_content", summary="One content item"),
        Route(
            "POST",
            "/content/{itemId}/uploads",
            "start_upload",
            status=201,
            summary="A new version and a presigned upload of its file (15 minutes)",
            bucket=("PutObject", "PutObjectTagging"),
            errors=(403, 409),
            rules=(
                "checksumSha256 that is not 64 hex digits or 44 characters of base64",
                "a contentType or sizeBytes the item's type does not take",
                "a fileName with control characters or slashes",
            ),
        ),
        Route(
            "POST",
            "/content/{itemId}/versions/{versionId}/complete",
            "complete_upload",
            summary="Check the uploaded file (size, SHA-256, type) and make the version ready",
            bucket=("GetObject", "DeleteObject", "DeleteObjectVersion", "DeleteObjectTagging"),
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/content/{itemId}/versions/{versionId}/publish",
            "publish_version",
            summary="Make a ready version the one students see",
            errors=(403, 409),
        ),
        Route(
            "GET",
            "/content/{itemId}/versions",
            "list_versions",
            summary="An item's versions, newest first (its instructors, admins)",
            errors=(403,),
        ),
        Route(
            "GET",
            "/content/{itemId}/download",
            "download_content",
            summary="A presigned download (5 minutes) of the published file",
            bucket=("GetObject",),
            errors=(403, 409),
        ),
        Route(
            "PUT",
            "/content/{itemId}/questions",
            "put_questions",
            summary="Replace a quiz's questions (a draft version until published)",
            errors=(403, 409),
            rules=(
                "two options of a question with one id",
                "a correctOptionId that is none of the question's options",
            ),
        ),
        Route(
            "GET",
            "/content/{itemId}/questions",
            "get_questions",
            summary="A quiz's questions (students never see the correct options)",
            errors=(403,),
        ),
        Route(
            "POST",
            "/content/{itemId}/attempts",
            "submit_attempt",
            status=201,
            summary="Answer a quiz: graded on the server",
            errors=(403, 409),
            rules=("an answer to a question the quiz does not have",),
        ),
        Route(
            "GET",
            "/content/{itemId}/attempts",
            "list_attempts",
            summary="Attempts at a quiz, newest first (a student's own; all for instructors)",
            errors=(403,),
        ),
    ),
    # Course events and who is enrolled: the read models that say who may see what.
    consumes=(
        *course_events.EVENTS,
        enrollment_events.EnrollmentCreated,
        enrollment_events.EnrollmentCompleted,
        enrollment_events.EnrollmentCancelled,
    ),
    read_model=(*COURSE_TABLES, *ENROLLMENT_TABLES),
    publishes=events.EVENTS,
    bucket_prefix="content/",
)
