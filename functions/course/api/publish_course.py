"""POST /courses/{courseId}/publish: into the catalog; needs at least one lesson."""

import uuid

from functions.course import use_cases
from functions.course.models import Course
from functions.course.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def publish_course(course_id: uuid.UUID) -> Course:
    return use_cases.publish(current_principal(), course_id)


handler = api.handler
