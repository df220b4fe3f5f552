"""POST /courses/{courseId}/lessons/{lessonId}/move: to a place in this or another module."""

import uuid

from functions.course import use_cases
from functions.course.models import Course, MoveLesson
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def move_lesson(course_id: uuid.UUID, lesson_id: uuid.UUID, body: MoveLesson) -> Course:
    return use_cases.move_lesson(current_principal(), course_id, lesson_id, body)


handler = api.handler
