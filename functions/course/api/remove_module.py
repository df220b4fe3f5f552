"""DELETE /courses/{courseId}/modules/{moduleId}: a module and its lessons."""

import uuid

from functions.course import use_cases
from functions.course.models import Course
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def remove_module(course_id: uuid.UUID, module_id: uuid.UUID) -> Course:
    return use_cases.remove_module(current_principal(), course_id, module_id)


handler = api.handler
