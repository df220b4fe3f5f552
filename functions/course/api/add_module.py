"""POST /courses/{courseId}/modules: a new module, last or at ``position``."""

import uuid

from functions.course import use_cases
from functions.course.models import AddModule, Module
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def add_module(course_id: uuid.UUID, body: AddModule) -> Module:
    return use_cases.add_module(current_principal(), course_id, body)


handler = api.handler
