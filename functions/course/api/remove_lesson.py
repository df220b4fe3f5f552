"""DELETE /courses/{courseId}/lessons/{lessonId}: remove a lesson."""

import uuid

from functions.course import use_cases
from functions.course.models import Course
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def remove_lesson(course_id: uuid.UUID, lesson_id: uuid.UUID) -> Course:
    return use_cases.remove_lesson(current_principal(), course_id, lesson_id)


handler = api.handler
