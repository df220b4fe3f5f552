"""PATCH /assignments/{assignmentId}: its teachers change an assignment."""

import uuid

from functions.assignment import use_cases
from functions.assignment.models import Assignment, UpdateAssignment
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def update_assignment(assignment_id: uuid.UUID, body: UpdateAssignment) -> Assignment:
    return use_cases.update_assignment(current_principal(), assignment_id, body)


handler = api.handler
