"""PATCH /courses/{courseId}/lessons/{lessonId}: change a lesson's title, type or duration."""

import uuid

from functions.course import use_cases
from functions.course.models import Lesson, UpdateLesson
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def update_lesson(course_id: uuid.UUID, lesson_id: uuid.UUID, body: UpdateLesson) -> Lesson:
    return use_cases.update_lesson(current_principal(), course_id, lesson_id, body)


handler = api.handler
