"""PUT /courses/{courseId}/instructors/{userId}: a user teaches the course (a repeat is a no-op)."""

import uuid

from functions.course import use_cases
from functions.course.models import CourseInstructors
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def assign_instructor(course_id: uuid.UUID, user_id: uuid.UUID) -> CourseInstructors:
    return use_cases.assign_instructor(current_principal(), course_id, user_id)


handler = api.handler
