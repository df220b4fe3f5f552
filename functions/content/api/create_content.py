"""POST /courses/{courseId}/lessons/{lessonId}/content: a new video, PDF or quiz in a lesson."""

import uuid

from functions.content import use_cases
from functions.content.models import ContentItem, CreateContent
from functions.content.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def create_content(course_id: uuid.UUID, lesson_id: uuid.UUID, body: CreateContent) -> ContentItem:
    return use_cases.create_content(current_principal(), course_id, lesson_id, body)


handler = api.handler
