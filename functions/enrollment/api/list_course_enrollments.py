"""GET /courses/{courseId}/enrollments: a course's enrollments (its instructors, admins)."""

import uuid

from functions.enrollment import use_cases
from functions.enrollment.models import EnrollmentPage
from functions.enrollment.service import SERVICE
from lms_platform.http import current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_course_enrollments(
    course_id: uuid.UUID, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
) -> EnrollmentPage:
    return use_cases.course_enrollments(current_principal(), course_id, limit=limit, cursor=cursor)


handler = api.handler
