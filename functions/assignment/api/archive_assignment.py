"""POST /assignments/{assignmentId}/archive: it keeps its work and takes no more."""

import uuid

from functions.assignment import use_cases
from functions.assignment.models import Assignment
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def archive_assignment(assignment_id: uuid.UUID) -> Assignment:
    return use_cases.archive_assignment(current_principal(), assignment_id)


handler = api.handler
