"""PATCH /courses/{courseId}/modules/{moduleId}: rename a module."""

import uuid

from functions.course import use_cases
from functions.course.models import Module, UpdateModule
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def rename_module(course_id: uuid.UUID, module_id: uuid.UUID, body: UpdateModule) -> Module:
    return use_cases.rename_module(current_principal(), course_id, module_id, body.title)


handler = api.handler
