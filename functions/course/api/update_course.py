"""PATCH /courses/{courseId}: change title, slug, description or whether enrolling needs a
subscription (its instructors, admins)."""

import uuid

from functions.course import use_cases
from functions.course.models import Course, UpdateCourse
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def update_course(course_id: uuid.UUID, body: UpdateCourse) -> Course:
    return use_cases.update_course(current_principal(), course_id, body)


handler = api.handler
