"""PUT /enrollments/{enrollmentId}/lessons/{lessonId}/completion: a lesson done."""

import uuid

from functions.enrollment import use_cases
from functions.enrollment.models import Enrollment
from functions.enrollment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def complete_lesson(enrollment_id: uuid.UUID, lesson_id: uuid.UUID) -> Enrollment:
    return use_cases.complete_lesson(current_principal(), enrollment_id, lesson_id)


handler = api.handler
