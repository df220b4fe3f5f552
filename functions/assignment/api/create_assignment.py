"""POST /courses/{courseId}/assignments: a course's teacher adds an assignment."""

import uuid

from functions.assignment import use_cases
from functions.assignment.models import Assignment, CreateAssignment
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def create_assignment(course_id: uuid.UUID, body: CreateAssignment) -> Assignment:
    return use_cases.create_assignment(current_principal(), course_id, body)


handler = api.handler
