"""PUT /courses/{courseId}/owner: hand the course to another instructor (its owner, admins)."""

import uuid

from functions.course import use_cases
from functions.course.models import CourseInstructors, TransferOwnership
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def transfer_ownership(course_id: uuid.UUID, body: TransferOwnership) -> CourseInstructors:
    return use_cases.transfer_ownership(current_principal(), course_id, body.user_id)


handler = api.handler
