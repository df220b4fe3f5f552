"""GET /courses/{courseId}/lessons/{lessonId}/content: a lesson's items, current versions."""

import uuid

from functions.content import use_cases
from functions.content.models import ContentList
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def list_lesson_content(course_id: uuid.UUID, lesson_id: uuid.UUID) -> ContentList:
    return use_cases.lesson_content(current_principal(), course_id, lesson_id)


handler = api.handler
