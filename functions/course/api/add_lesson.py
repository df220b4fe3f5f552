"""POST /courses/{courseId}/modules/{moduleId}/lessons: a new lesson, last or at ``position``."""

import uuid

from functions.course import use_cases
from functions.course.models import AddLesson, Lesson
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def add_lesson(course_id: uuid.UUID, module_id: uuid.UUID, body: AddLesson) -> Lesson:
    return use_cases.add_lesson(current_principal(), course_id, module_id, body)


handler = api.handler
