"""POST /courses/{courseId}/enrollments: the caller enrolls in a published course."""

import uuid

from functions.enrollment import use_cases
from functions.enrollment.models import Enrollment
from functions.enrollment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def enroll(course_id: uuid.UUID) -> Enrollment:
    return use_cases.enroll(current_principal(), course_id)


handler = api.handler
