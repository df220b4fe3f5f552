"""The Course service: courses, their modules and lessons, and who teaches them."""

from __future__ import annotations

from lms_events import course as events
from lms_events import user as user_events
from lms_platform.service import Route, Service

SERVICE = Service(
    name="course",
    routes=(
        Route(
            "POST",
            "/courses",
            "create_course",
            status=201,
            summary="Create a draft course",
            errors=(403, 409),
        ),
        Route(
            "GET",
            "/courses",
            "list_courses",
            public=True,
            summary="The catalog: published courses, newest first, a page at a time",
        ),
        Route(
            "GET",
            "/courses/{courseId}",
            "get_course",
            summary="One course (by id or slug) with its modules and lessons in order",
        ),
        Route(
            "PATCH",
            "/courses/{courseId}",
            "update_course",
            summary="Change a course",
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/courses/{courseId}/publish",
            "publish_course",
            summary="Publish a course",
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/courses/{courseId}/archive",
            "archive_course",
            summary="Archive a course",
            errors=(403,),
        ),
        Route(
            "PUT",
            "/courses/{courseId}/instructors/{userId}",
            "assign_instructor",
            summary="Make a user an instructor of the course",
            errors=(403, 409),
        ),
        Route(
            "DELETE",
            "/courses/{courseId}/instructors/{userId}",
            "remove_instructor",
            summary="Remove an instructor from the course",
            errors=(403, 409),
        ),
        Route(
            "PUT",
            "/courses/{courseId}/owner",
            "transfer_ownership",
            summary="Hand the course's ownership to another instructor (its owner, admins)",
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/courses/{courseId}/modules",
            "add_module",
            status=201,
            summary="Add a module",
            errors=(403, 409),
        ),
        Route(
            "PUT",
            "/courses/{courseId}/modules/order",
            "reorder_modules",
            summary="Put the course's modules in a new order",
            errors=(403, 409),
        ),
        Route(
            "PATCH",
            "/courses/{courseId}/modules/{moduleId}",
            "rename_module",
            summary="Rename a module",
            errors=(403,),
        ),
        Route(
            "DELETE",
            "/courses/{courseId}/modules/{moduleId}",
            "remove_module",
            summary="Remove a module and its lessons",
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/courses/{courseId}/modules/{moduleId}/lessons",
            "add_lesson",
            status=201,
            summary="Add a lesson to a module",
            errors=(403, 409),
        ),
        Route(
            "PUT",
            "/courses/{courseId}/modules/{moduleId}/lessons/order",
            "reorder_lessons",
            summary="Put a module's lessons in a new order",
            errors=(403, 409),
        ),
        Route(
            "PATCH",
            "/courses/{courseId}/lessons/{lessonId}",
            "update_lesson",
            summary="Change a lesson",
            errors=(403,),
        ),
        Route(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            "remove_lesson",
            summary="Remove a lesson",
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/courses/{courseId}/lessons/{lessonId}/move",
            "move_lesson",
            summary="Move a lesson within its module or to another module",
            errors=(403,),
        ),
    ),
    # Who exists, is active and holds INSTRUCTOR: the users who may be made instructors.
    consumes=user_events.STATE_EVENTS,
    read_model=("users",),
    publishes=events.EVENTS,
)
