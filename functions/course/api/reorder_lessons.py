"""PUT /courses/{courseId}/modules/{moduleId}/lessons/order: a module's lessons, reordered."""

import uuid

from functions.course import use_cases
from functions.course.models import Course, LessonOrder
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def reorder_lessons(course_id: uuid.UUID, module_id: uuid.UUID, body: LessonOrder) -> Course:
    return use_cases.reorder_lessons(current_principal(), course_id, module_id, body.lesson_ids)


handler = api.handler
