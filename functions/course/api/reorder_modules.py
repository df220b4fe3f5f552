"""PUT /courses/{courseId}/modules/order: every module of the course, in its new order."""

import uuid

from functions.course import use_cases
from functions.course.models import Course, ModuleOrder
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def reorder_modules(course_id: uuid.UUID, body: ModuleOrder) -> Course:
    return use_cases.reorder_modules(current_principal(), course_id, body.module_ids)


handler = api.handler
