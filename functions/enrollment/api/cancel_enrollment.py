"""POST /enrollments/{enrollmentId}/cancel: the student (or an admin) cancels."""

import uuid

from functions.enrollment import use_cases
from functions.enrollment.models import Enrollment
from functions.enrollment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def cancel_enrollment(enrollment_id: uuid.UUID) -> Enrollment:
    return use_cases.cancel(current_principal(), enrollment_id)


handler = api.handler
