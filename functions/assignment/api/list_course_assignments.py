"""GET /courses/{courseId}/assignments: a course's assignments, in the order they were made."""

import uuid

from functions.assignment import use_cases
from functions.assignment.models import AssignmentPage
from functions.assignment.service import SERVICE
from lms_platform.http import current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_course_assignments(
    course_id: uuid.UUID, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
) -> AssignmentPage:
    return use_cases.course_assignments(current_principal(), course_id, limit=limit, cursor=cursor)


handler = api.handler
