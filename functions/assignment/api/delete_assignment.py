"""DELETE /assignments/{assignmentId}: delete an assignment nobody has submitted to."""

import uuid

from functions.assignment import use_cases
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def delete_assignment(assignment_id: uuid.UUID) -> None:
    use_cases.delete_assignment(current_principal(), assignment_id)


handler = api.handler
